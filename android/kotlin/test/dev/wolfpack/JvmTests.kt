// Host-JVM tests of the Kotlin API and the JNI natives (run by android/test-jvm.sh).
//
// A plain main() runner, so nothing beyond kotlinc and a JDK is needed: each check prints a line, the last
// line is "jvm: N passed, M failed" and the exit status is non-zero on any failure. The models and the Rust
// runtime's reference outputs come from `cargo run -p wolfpack-android --example reference -- DIR`.
package dev.wolfpack

import java.io.File
import java.io.RandomAccessFile
import java.lang.management.ManagementFactory
import java.nio.ByteBuffer
import java.nio.channels.FileChannel
import java.util.concurrent.CountDownLatch
import java.util.concurrent.atomic.AtomicInteger
import java.util.concurrent.atomic.AtomicReference
import kotlin.math.abs
import kotlin.math.max
import kotlin.system.exitProcess

/** One sample of a NAME.ref file: the Rust runtime's output and solver statistics for an input. */
class Sample(val iterations: Int, val residual: Float, val input: FloatArray, val output: FloatArray)

/** A NAME.wpk model with the reference outputs from NAME.ref. */
class Case(val name: String, val wpk: File, val inputs: Int, val outputs: Int, val samples: List<Sample>)

fun floats(line: String): FloatArray =
    if (line.isBlank()) FloatArray(0) else line.trim().split(' ').map { it.toFloat() }.toFloatArray()

fun loadCase(dir: File, name: String): Case {
    val lines = File(dir, "$name.ref").readLines()
    val (p, q, count) = lines[0].trim().split(' ').map { it.toInt() }
    val samples = (0 until count).map { k ->
        val (it, res) = lines[1 + 3 * k].trim().split(' ')
        Sample(it.toInt(), res.toFloat(), floats(lines[2 + 3 * k]), floats(lines[3 + 3 * k]))
    }
    check(samples.all { it.input.size == p && it.output.size == q }) { "$name.ref: inconsistent lengths" }
    return Case(name, File(dir, "$name.wpk"), p, q, samples)
}

class Failure(message: String) : Exception(message)

fun fail(message: String): Nothing = throw Failure(message)

fun expect(condition: Boolean, message: () -> String) {
    if (!condition) fail(message())
}

/** Largest |a - b| / max(1, |b|) seen so far: reported at the end. */
var worstDifference = 0.0f

/** Outputs equal the Rust runtime's to 1e-6 (relative to the magnitude when it exceeds 1). */
fun expectClose(actual: FloatArray, expected: FloatArray, what: String) {
    expect(actual.size == expected.size) { "$what: ${actual.size} values, expected ${expected.size}" }
    for (i in actual.indices) {
        val diff = abs(actual[i] - expected[i]) / max(1.0f, abs(expected[i]))
        worstDifference = max(worstDifference, diff)
        expect(diff <= 1e-6f) { "$what[$i] = ${actual[i]}, Rust runtime gives ${expected[i]}" }
    }
}

/** Runs [block], which must throw a WolfpackException whose message contains [needle]. */
fun expectWolfpackException(needle: String, what: String, block: () -> Unit) {
    try {
        block()
    } catch (e: WolfpackException) {
        expect(e.message?.contains(needle) == true) { "$what: message '${e.message}' does not contain '$needle'" }
        return
    }
    fail("$what: no WolfpackException")
}

fun argmax(y: FloatArray): Int = y.indices.maxByOrNull { y[it] }!!.let { best -> y.indexOfFirst { it == y[best] } }

fun checkAgainstReference(model: WolfpackModel, case: Case, how: String) {
    expect(model.inputSize == case.inputs && model.outputSize == case.outputs) {
        "$how: sizes ${model.inputSize}/${model.outputSize}, expected ${case.inputs}/${case.outputs}"
    }
    val out = FloatArray(case.outputs)
    for ((k, s) in case.samples.withIndex()) {
        expectClose(model.predict(s.input), s.output, "${case.name} via $how, sample $k")
        expect(model.lastIterations == s.iterations) {
            "${case.name} via $how, sample $k: ${model.lastIterations} iterations, Rust ran ${s.iterations}"
        }
        expect(model.lastResidual == s.residual) {
            "${case.name} via $how, sample $k: residual ${model.lastResidual}, Rust reached ${s.residual}"
        }
        model.predict(s.input, out)
        expectClose(out, s.output, "${case.name} via $how predict(input, output), sample $k")
    }
}

class Runner {
    private var passed = 0
    private var failed = 0

    fun test(name: String, body: () -> Unit) {
        val t0 = System.nanoTime()
        try {
            body()
            passed++
            println("ok    $name (${(System.nanoTime() - t0) / 1_000_000} ms)")
        } catch (e: Throwable) {
            failed++
            println("FAIL  $name: ${e.javaClass.simpleName}: ${e.message}")
            if (e !is Failure) e.printStackTrace(System.out)
        }
    }

    fun finish(): Int {
        println("jvm: worst relative difference from the Rust runtime: $worstDifference")
        println("jvm: $passed passed, $failed failed")
        return if (failed == 0) 0 else 1
    }
}

fun mapFile(file: File): ByteBuffer =
    RandomAccessFile(file, "r").use { it.channel.map(FileChannel.MapMode.READ_ONLY, 0, it.length()) }

fun main(args: Array<String>) {
    if (args.size != 1) {
        System.err.println("usage: JvmTestsKt DIR (with sample.wpk/.ref and compressed.wpk/.ref)")
        exitProcess(2)
    }
    val dir = File(args[0])
    val cases = listOf(loadCase(dir, "sample"), loadCase(dir, "compressed"))
    val (sample, compressed) = cases
    val r = Runner()

    r.test("open(path): outputs, iterations and residuals equal the Rust runtime's") {
        for (case in cases) WolfpackModel.open(case.wpk.path).use { checkAgainstReference(it, case, "path") }
    }

    r.test("open(ByteBuffer): mapped file and aligned direct buffer are read in place") {
        for (case in cases) {
            val mapped = mapFile(case.wpk)
            WolfpackModel.open(mapped).use {
                expect(it.isZeroCopy) { "${case.name}: a mapped file should be read in place" }
                checkAgainstReference(it, case, "mapped ByteBuffer")
            }
            val bytes = case.wpk.readBytes()
            val direct = ByteBuffer.allocateDirect(bytes.size).put(bytes).also { it.flip() }
            WolfpackModel.open(direct).use {
                expect(it.isZeroCopy) { "${case.name}: allocateDirect memory is aligned, should be read in place" }
                checkAgainstReference(it, case, "direct ByteBuffer")
            }
            expect(direct.position() == 0) { "open(buffer) must not move the buffer's position" }
        }
    }

    r.test("open(ByteBuffer/ByteArray): misaligned, heap and array models are copied once and equal") {
        for (case in cases) {
            val bytes = case.wpk.readBytes()
            val shifted = ByteBuffer.allocateDirect(bytes.size + 1)
            shifted.position(1)
            shifted.put(bytes).position(1)
            WolfpackModel.open(shifted).use {
                expect(!it.isZeroCopy) { "${case.name}: a misaligned buffer must be copied" }
                checkAgainstReference(it, case, "misaligned direct ByteBuffer")
            }
            val heap = ByteBuffer.allocate(bytes.size + 3).also { it.position(3); it.put(bytes); it.position(3) }
            WolfpackModel.open(heap).use { checkAgainstReference(it, case, "heap ByteBuffer") }
            WolfpackModel.open(bytes.copyOf()).use { checkAgainstReference(it, case, "ByteArray") }
            WolfpackModel.open(heap.asReadOnlyBuffer().also { it.position(3) }).use {
                checkAgainstReference(it, case, "read-only heap ByteBuffer")
            }
        }
    }

    r.test("predictBatch equals the Rust runtime's batch; classify gives the metadata label of the argmax") {
        for (case in cases) WolfpackModel.open(case.wpk.path).use { model ->
            val batch = case.samples.size
            val inputs = FloatArray(batch * case.inputs)
            case.samples.forEachIndexed { k, s -> s.input.copyInto(inputs, k * case.inputs) }
            val outputs = model.predictBatch(inputs, batch)
            // A batch shares one stopping test, so it is compared with Rust's batch, not with single predictions.
            val rustBatch = java.io.File(case.wpk.parentFile, case.name + ".batch").readText().trim()
                .split(" ").map { it.toFloat() }.toFloatArray()
            for ((k, s) in case.samples.withIndex()) {
                val got = outputs.copyOfRange(k * case.outputs, (k + 1) * case.outputs)
                val want = rustBatch.copyOfRange(k * case.outputs, (k + 1) * case.outputs)
                expectClose(got, want, "${case.name} batch sample $k")
                val best = argmax(s.output)
                expect(model.classifyIndex(s.input) == best) { "${case.name} sample $k: classifyIndex != argmax" }
                expect(model.classify(s.input) == model.labels[best]) { "${case.name} sample $k: classify" }
            }
            expect(model.predictBatch(FloatArray(0), 0).isEmpty()) { "an empty batch predicts nothing" }
        }
        WolfpackModel.open(sample.wpk.path).use {
            expect(it.labels == listOf("alpha", "beta", "gamma")) { "sample labels: ${it.labels}" }
        }
        WolfpackModel.open(compressed.wpk.path).use {
            expect(it.labels.size == 10 && it.labels[9] == "Ankle boot") { "compressed labels: ${it.labels}" }
        }
    }

    r.test("bad, truncated and missing files raise WolfpackException") {
        val good = compressed.wpk.readBytes()
        val bad = mutableListOf<Pair<String, ByteArray>>()
        for (len in listOf(0, 1, 7, 64, good.size / 2, good.size - 1)) bad += "truncated to $len bytes" to good.copyOf(len)
        bad += "header byte flipped" to good.copyOf().also { it[5] = (it[5].toInt() xor 0x20).toByte() }
        bad += "weight byte flipped" to good.copyOf().also { it[good.size / 2] = (it[good.size / 2].toInt() xor 1).toByte() }
        bad += "not a model" to "hello, this is not a wolfpack model at all".toByteArray()
        val tmp = File.createTempFile("wolfpack-bad", ".wpk").also { it.deleteOnExit() }
        for ((what, bytes) in bad) {
            expectWolfpackException("", "$what (ByteArray)") { WolfpackModel.open(bytes).close() }
            val direct = ByteBuffer.allocateDirect(bytes.size).put(bytes).also { it.flip() }
            expectWolfpackException("", "$what (direct buffer)") { WolfpackModel.open(direct).close() }
            tmp.writeBytes(bytes)
            expectWolfpackException("", "$what (path)") { WolfpackModel.open(tmp.path).close() }
        }
        expectWolfpackException("invalid model", "truncated") { WolfpackModel.open(good.copyOf(good.size / 2)).close() }
        expectWolfpackException("/no/such/dir/model.wpk", "missing file") { WolfpackModel.open("/no/such/dir/model.wpk") }
        expectWolfpackException(dir.path, "a directory") { WolfpackModel.open(dir.path) }
    }

    r.test("wrong lengths and non-finite inputs raise WolfpackException naming the problem") {
        WolfpackModel.open(sample.wpk.path).use { m ->
            expectWolfpackException("inputs has 5 values, expected 6", "short input") { m.predict(FloatArray(5)) }
            expectWolfpackException("outputs has 4 values, expected 3", "long output") {
                m.predict(FloatArray(6), FloatArray(4))
            }
            expectWolfpackException("inputs has 6 values, expected 12", "batch of 2") { m.predictBatch(FloatArray(6), 2) }
            expectWolfpackException("batch = -1", "negative batch") { m.predictBatch(FloatArray(6), -1, FloatArray(3)) }
            expectWolfpackException("overflow", "huge batch") { m.predictBatch(FloatArray(6), Int.MAX_VALUE) }
            expectWolfpackException("not finite", "NaN input") { m.predict(FloatArray(6) { Float.NaN }) }
            expectWolfpackException("inputs has 7 values", "classify") { m.classify(FloatArray(7)) }
            // The model is still usable after all these errors.
            checkAgainstReference(m, sample, "path after errors")
        }
    }

    r.test("close is idempotent and any use after close raises WolfpackException") {
        val m = WolfpackModel.open(sample.wpk.path)
        val input = sample.samples[0].input
        m.predict(input)
        m.close()
        m.close()
        expect(m.isClosed) { "isClosed after close" }
        expect(m.toString() == "WolfpackModel(closed)") { "toString after close: $m" }
        val uses = listOf<Pair<String, () -> Unit>>(
            "predict" to { m.predict(input) },
            "predict(input, output)" to { m.predict(input, FloatArray(3)) },
            "predictBatch" to { m.predictBatch(input, 1, FloatArray(3)) },
            "classify" to { m.classify(input) },
            "classifyIndex" to { m.classifyIndex(input) },
            "lastIterations" to { m.lastIterations },
            "lastResidual" to { m.lastResidual },
        )
        for ((what, use) in uses) expectWolfpackException("closed", "$what after close") { use() }
        m.close()
    }

    r.test("lastIterations/lastResidual are per thread: 0 and NaN on a thread that has not predicted") {
        WolfpackModel.open(compressed.wpk.path).use { m ->
            m.predict(compressed.samples[0].input)
            val seen = AtomicReference<String>()
            val t = Thread { seen.set("${m.lastIterations} ${m.lastResidual}") }
            t.start()
            t.join()
            expect(seen.get() == "0 NaN") { "a fresh thread saw '${seen.get()}'" }
            expect(m.lastIterations == compressed.samples[0].iterations) { "this thread's statistics were lost" }
        }
    }

    r.test("4 threads x 10,000 predictions on one model all agree with the Rust runtime") {
        WolfpackModel.open(compressed.wpk.path).use { m ->
            val mismatches = AtomicInteger()
            val errors = AtomicReference<Throwable>()
            val start = CountDownLatch(1)
            val threads = (0 until 4).map { t ->
                Thread {
                    try {
                        val out = FloatArray(m.outputSize)
                        start.await()
                        for (i in 0 until 10_000) {
                            val s = compressed.samples[(i + 7 * t) % compressed.samples.size]
                            m.predict(s.input, out)
                            if (!out.contentEquals(s.output) || m.lastIterations != s.iterations) {
                                mismatches.incrementAndGet()
                            }
                        }
                    } catch (e: Throwable) {
                        errors.compareAndSet(null, e)
                    }
                }.also { it.start() }
            }
            start.countDown()
            threads.forEach { it.join() }
            errors.get()?.let { throw it }
            expect(mismatches.get() == 0) { "${mismatches.get()} of 40,000 predictions differ from the reference" }
        }
    }

    r.test("closing while 4 threads predict: every call either succeeds or raises WolfpackException") {
        val m = WolfpackModel.open(compressed.wpk.path)
        val ok = AtomicInteger()
        val closed = AtomicInteger()
        val other = AtomicReference<Throwable>()
        val started = CountDownLatch(4)
        val threads = (0 until 4).map {
            Thread {
                val out = FloatArray(m.outputSize)
                val s = compressed.samples[it]
                started.countDown()
                while (true) {
                    try {
                        m.predict(s.input, out)
                        expect(out.contentEquals(s.output)) { "a prediction racing close was wrong" }
                        ok.incrementAndGet()
                    } catch (e: WolfpackException) {
                        closed.incrementAndGet()
                        break
                    } catch (e: Throwable) {
                        other.compareAndSet(null, e)
                        break
                    }
                }
            }.also { it.start() }
        }
        started.await()
        Thread.sleep(50)
        val t0 = System.nanoTime()
        m.close()
        val closeMs = (System.nanoTime() - t0) / 1e6
        threads.forEach { it.join() }
        other.get()?.let { throw it }
        expect(closed.get() == 4 && ok.get() > 0) { "ok=${ok.get()}, closed=${closed.get()}" }
        // Close waits for the calls in flight (tens of microseconds each), not for the threads to stop calling.
        expect(closeMs < 1_000) { "close() took $closeMs ms while other threads were predicting" }
        println("      close() under 4 predicting threads took %.2f ms".format(closeMs))
    }

    r.test("predict(input, output) allocates nothing on the Java heap in steady state") {
        val bean = ManagementFactory.getThreadMXBean() as com.sun.management.ThreadMXBean
        WolfpackModel.open(compressed.wpk.path).use { m ->
            val input = compressed.samples[0].input
            val out = FloatArray(m.outputSize)
            repeat(5_000) { m.predict(input, out) }
            val id = Thread.currentThread().id
            val before = bean.getThreadAllocatedBytes(id)
            repeat(5_000) { m.predict(input, out) }
            val bytes = bean.getThreadAllocatedBytes(id) - before
            // A few hundred bytes of measurement noise are tolerated; one allocation per call would be >= 80 kB.
            expect(bytes < 4_096) { "5,000 calls allocated $bytes bytes" }
        }
    }

    r.test("a Rust panic inside a native call becomes a WolfpackException, and the VM goes on") {
        expectWolfpackException("Rust panic: wolfpack self-test panic", "panic") { WolfpackNative.selfTestPanic() }
        WolfpackModel.open(sample.wpk.path).use { checkAgainstReference(it, sample, "path after a panic") }
    }

    r.test("usable from Java: static open, try-with-resources, getters") {
        val out = JavaUsage.run(compressed.wpk.path, compressed.samples[0].input)
        expect(out == compressed.samples[0].output.size.toString() + " " + argmax(compressed.samples[0].output)) {
            "JavaUsage gave '$out'"
        }
    }

    exitProcess(r.finish())
}
