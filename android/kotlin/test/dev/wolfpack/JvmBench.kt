// The JVM side of the JNI overhead measurement (android/test-jvm.sh --bench): WolfpackModel.predict(input,
// output) in a loop on the first input of a reference file; examples/rust_loop.rs times the Rust runtime's
// Session::predict on the same model and input. The difference is the cost of the binding per call.
package dev.wolfpack

import java.io.File
import kotlin.system.exitProcess

/** Median over 7 rounds of the nanoseconds per call of [body]. */
fun nsPerCall(calls: Int, body: () -> Unit): Double {
    repeat(calls / 4) { body() }
    val rounds = (0 until 7).map {
        val t0 = System.nanoTime()
        repeat(calls) { body() }
        (System.nanoTime() - t0).toDouble() / calls
    }.sorted()
    return rounds[3]
}

fun main(args: Array<String>) {
    if (args.size < 2) {
        System.err.println("usage: JvmBenchKt MODEL.wpk MODEL.ref [CALLS]")
        exitProcess(2)
    }
    val calls = args.getOrNull(2)?.toInt() ?: 20_000
    val input = floats(File(args[1]).readLines()[2])
    WolfpackModel.open(args[0]).use { model ->
        val output = FloatArray(model.outputSize)
        // Warm the JIT on every path first, then measure each.
        val predict = nsPerCall(calls) { model.predict(input, output) }
        val classify = nsPerCall(calls) { model.classifyIndex(input) }
        val allocating = nsPerCall(calls) { model.predict(input) }
        println("jvm: predict(input, output) %.0f ns/call, classifyIndex %.0f ns/call, predict(input) %.0f ns/call (median of 7 x %d calls)"
            .format(predict, classify, allocating, calls))
    }
}
