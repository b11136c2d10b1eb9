//! zig_threads: Zig's own std.Thread on wasi-threads (no libc pthreads).
//! N_THREADS threads each add ITERATIONS to a shared counter under a std.Io.Mutex
//! (a futex mutex on memory.atomic.wait32/notify; Zig 0.17 has no std.Thread.Mutex
//! any more), main joins them and prints "counter=4000".  Exit 0 iff the count is
//! right, else 1.
//!
//! The workers first wait at a start gate that main opens only after every
//! std.Thread.spawn has returned.  Without it this program hangs now and then in
//! join: Zig 0.17's WASI spawn stores the thread id AFTER `thread-spawn` returns, and
//! a thread that finishes before that store has already reset the id to 0, so join
//! waits forever on the stale id.  zig_join_race.zig keeps that bug on purpose.
//!
//! Zig 0.17 workarounds for threaded wasm (see /work/shared/docs/toolchains.md):
//! main takes std.process.Init.Minimal and brings its own thread-safe allocator,
//! `panic` is std.debug.simple_panic, and the build passes --export=wasi_thread_start.
const std = @import("std");

pub const panic = std.debug.simple_panic;

const n_threads = 4;
const iterations = 1000;

var counter: u32 = 0;
var gate: u32 = 0; // 0 closed, 1 open
var mutex: std.Io.Mutex = .init;
var threaded: std.Io.Threaded = .init_single_threaded;

/// Thread stacks, TLS blocks and thread control blocks come from here.
var heap_buffer: [1024 * 1024]u8 align(16) = undefined;

noinline fn increment(io: std.Io) void {
    mutex.lockUncancelable(io);
    defer mutex.unlock(io);
    counter += 1;
}

fn worker(io: std.Io) void {
    while (@atomicLoad(u32, &gate, .acquire) == 0) io.futexWaitUncancelable(u32, &gate, 0);
    for (0..iterations) |_| increment(io);
}

pub fn main(init: std.process.Init.Minimal) u8 {
    _ = init;
    const io = threaded.io();
    var fba = std.heap.FixedBufferAllocator.init(&heap_buffer);
    const allocator = fba.threadSafeAllocator();

    var threads: [n_threads]std.Thread = undefined;
    for (&threads) |*t| {
        t.* = std.Thread.spawn(.{ .stack_size = 64 * 1024, .allocator = allocator }, worker, .{io}) catch {
            std.Io.File.stdout().writeStreamingAll(io, "zig_threads: spawn failed\n") catch {};
            return 2;
        };
    }
    @atomicStore(u32, &gate, 1, .release);
    io.futexWake(u32, &gate, std.math.maxInt(u32));
    for (threads) |t| t.join();

    var buf: [64]u8 = undefined;
    const line = std.fmt.bufPrint(&buf, "counter={d}\n", .{counter}) catch unreachable;
    std.Io.File.stdout().writeStreamingAll(io, line) catch {};
    return if (counter == n_threads * iterations) 0 else 1;
}
