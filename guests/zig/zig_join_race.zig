//! zig_join_race: exhibits a real race in Zig 0.17's std.Thread on WASI (kept on
//! purpose, as a seed bug).  Main spawns a thread that does almost nothing and joins
//! it, ROUNDS times.  Zig's WasiThreadImpl.spawn stores the new thread's id into the
//! shared Thread record only AFTER the `wasi.thread-spawn` import returns, while the
//! thread, when it finishes, resets that id to 0 and notifies.  If the thread finishes
//! first, spawn's late store leaves a stale non-zero id and join's
//! memory.atomic.wait32 on it never wakes: a lost-wakeup hang.
//! Expected (when no round hits the race): prints "joined 20", exit 0.
//! Under the reference wasmtime some runs hang forever in join.
const std = @import("std");

pub const panic = std.debug.simple_panic;

const rounds = 20;

var heap_buffer: [512 * 1024]u8 align(16) = undefined;
var done: u32 = 0;

fn quick() void {
    _ = @atomicRmw(u32, &done, .Add, 1, .seq_cst);
}

pub fn main(init: std.process.Init.Minimal) u8 {
    _ = init;
    var threaded: std.Io.Threaded = .init_single_threaded;
    const io = threaded.io();
    var fba = std.heap.FixedBufferAllocator.init(&heap_buffer);
    const allocator = fba.threadSafeAllocator();

    for (0..rounds) |_| {
        const t = std.Thread.spawn(.{ .stack_size = 64 * 1024, .allocator = allocator }, quick, .{}) catch {
            std.Io.File.stdout().writeStreamingAll(io, "zig_join_race: spawn failed\n") catch {};
            return 2;
        };
        t.join();
    }
    var buf: [64]u8 = undefined;
    const line = std.fmt.bufPrint(&buf, "joined {d}\n", .{@atomicLoad(u32, &done, .seq_cst)}) catch unreachable;
    std.Io.File.stdout().writeStreamingAll(io, line) catch {};
    return 0;
}
