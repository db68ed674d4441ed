// The per-call cost of the JNI binding (android/test-jvm.sh --bench): WolfpackModel.predict(input, output)
// from Kotlin versus the same predictions looped inside Rust (Session::predict, no JNI crossing), on the
// same model, input, thread and process, in interleaved rounds so that load from other processes hits both
// alike. Times are this thread's CPU time (so that preemption by other processes on a shared machine does not
// count); the overhead is the median over rounds of (Kotlin loop - Rust loop) / calls.
package dev.wolfpack

import java.io.File
import java.lang.management.ManagementFactory
import kotlin.system.exitProcess

fun median(v: List<Double>): Double = v.sorted()[v.size / 2]

fun main(args: Array<String>) {
    if (args.size < 2) {
        System.err.println("usage: JvmBenchKt MODEL.wpk MODEL.ref [CALLS] [ROUNDS]")
        exitProcess(2)
    }
    val calls = args.getOrNull(2)?.toInt() ?: 20_000
    val rounds = args.getOrNull(3)?.toInt() ?: 15
    val input = floats(File(args[1]).readLines()[2])
    WolfpackModel.open(args[0]).use { model ->
        val output = FloatArray(model.outputSize)
        // Warm-up: JIT-compile the Kotlin path, grow the native scratch.
        repeat(calls) { model.predict(input, output) }
        model.timeRustLoop(input, calls)
        val cpu = ManagementFactory.getThreadMXBean()
        val jni = ArrayList<Double>()
        val rust = ArrayList<Double>()
        repeat(rounds) {
            var t0 = cpu.currentThreadCpuTime
            for (i in 0 until calls) model.predict(input, output)
            jni += (cpu.currentThreadCpuTime - t0).toDouble() / calls
            t0 = cpu.currentThreadCpuTime
            model.timeRustLoop(input, calls)
            rust += (cpu.currentThreadCpuTime - t0).toDouble() / calls
        }
        val overhead = jni.indices.map { jni[it] - rust[it] }
        println(
            "jvm: %s: Kotlin predict(input, output) %.0f ns/call, Rust Session::predict %.0f ns/call, JNI overhead %.0f ns/call (thread CPU time, median of %d interleaved rounds x %d calls; lowest round %.0f ns)"
                .format(File(args[0]).name, median(jni), median(rust), median(overhead), rounds, calls, overhead.min()),
        )
    }
}
