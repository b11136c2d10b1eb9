(module
  (tag $e (param i32))
  (func (result i32)
    try (result i32)
      i32.const 1
      throw $e
    catch $e
    catch_all
      i32.const 2
    end)
  (func
    try
      try
        nop
      delegate 0
    catch $e
      drop
      try
      catch_all
        rethrow 1
      end
    end)
)
