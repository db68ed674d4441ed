package dev.wolfpack

/**
 * Everything wolfpack can fail with: a file that is not a valid `.wpk` model (the message names the problem:
 * truncated, bad checksum, not a contraction, ...), an input of the wrong length, a model used after
 * [WolfpackModel.close], a solve that did not converge. The native library turns every Rust error, and even
 * a Rust panic, into this exception: nothing crashes the VM.
 */
class WolfpackException(message: String) : RuntimeException(message)
