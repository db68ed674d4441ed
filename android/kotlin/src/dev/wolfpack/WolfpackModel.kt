package dev.wolfpack

import java.nio.ByteBuffer
import java.util.concurrent.locks.StampedLock

/**
 * A wolfpack implicit model, loaded from a `.wpk` file by the native runtime.
 *
 * The model maps an input `u` to `y = C x + D u + c`, where the hidden state `x` is the fixed point of
 * `x = relu(A x + B u + b)`; every row of `A` has L1 norm at most `kappa < 1`, so the map is a contraction
 * and the solve converges geometrically (El Ghaoui et al., "Implicit Deep Learning", 2021). Feed-forward
 * networks are the special case of a triangular `A`, solved in one sweep.
 *
 * One model is shared safely by any number of threads: each thread gets its own solver scratch on the native
 * side, so after the first call [predict] into a caller's array allocates nothing. [close] it when done
 * (`use { }` in Kotlin, try-with-resources in Java); closing twice is harmless and any use after close
 * throws [WolfpackException]. Requires Android API 24+ (for [StampedLock]).
 *
 * ```kotlin
 * WolfpackModel.open(File(filesDir, "fashion.wpk").path).use { model ->
 *     val label = model.classify(pixels)   // pixels.size == model.inputSize
 * }
 * ```
 */
class WolfpackModel private constructor(private var handle: Long) : AutoCloseable {
    // Read mode around every native call, write mode to close: a model is never freed under a running call.
    private val lock = StampedLock()

    // StampedLock lets readers overtake a waiting writer, so threads predicting back to back could starve
    // close(); once this is set, new calls fail at once and close() waits only for the calls in flight.
    @Volatile private var closing = false

    /** Length of one input (`p`). */
    val inputSize: Int

    /** Length of one output (`q`). */
    val outputSize: Int

    /** Class names of the outputs from the model's metadata (empty, or [outputSize] names). */
    val labels: List<String>

    /** True when the weights are read in place (a memory-mapped file or an aligned direct buffer). */
    val isZeroCopy: Boolean

    init {
        try {
            inputSize = WolfpackNative.inputSize(handle)
            outputSize = WolfpackNative.outputSize(handle)
            labels = List(WolfpackNative.labelCount(handle)) { WolfpackNative.label(handle, it) }
            isZeroCopy = WolfpackNative.isZeroCopy(handle)
        } catch (e: Throwable) {
            WolfpackNative.close(handle)
            throw e
        }
    }

    companion object {
        /** Memory-maps and validates the `.wpk` file at [path]; the weights are read from the mapping. */
        @JvmStatic
        @Throws(WolfpackException::class)
        fun open(path: String): WolfpackModel = WolfpackModel(WolfpackNative.openPath(path))

        /**
         * Validates the model in [buffer] between its position and its limit.
         *
         * A direct buffer (an asset or file mapped with `FileChannel.map`, or `ByteBuffer.allocateDirect`) is
         * read in place when its address is 4-byte aligned: the model keeps a reference to it until [close],
         * and its contents must not be changed meanwhile. Misaligned direct buffers and heap buffers are
         * copied once. The buffer's position is not changed.
         */
        @JvmStatic
        @Throws(WolfpackException::class)
        fun open(buffer: ByteBuffer): WolfpackModel {
            val (offset, length) = buffer.position() to buffer.remaining()
            return when {
                buffer.isDirect -> WolfpackModel(WolfpackNative.openDirect(buffer, offset, length))
                buffer.hasArray() ->
                    WolfpackModel(WolfpackNative.openBytes(buffer.array(), buffer.arrayOffset() + offset, length))
                else -> open(ByteArray(length).also { buffer.duplicate().get(it) })
            }
        }

        /** Validates a copy of the model in [bytes] (the array may be reused afterwards). */
        @JvmStatic
        @Throws(WolfpackException::class)
        fun open(bytes: ByteArray): WolfpackModel = WolfpackModel(WolfpackNative.openBytes(bytes, 0, bytes.size))
    }

    private inline fun <T> withHandle(block: (Long) -> T): T {
        if (closing) throw WolfpackException("the model is closed")
        val stamp = lock.readLock()
        try {
            val h = handle
            if (h == 0L) throw WolfpackException("the model is closed")
            return block(h)
        } finally {
            lock.unlockRead(stamp)
        }
    }

    /** Predicts the output (length [outputSize]) for one raw [input] (length [inputSize]). */
    @Throws(WolfpackException::class)
    fun predict(input: FloatArray): FloatArray = FloatArray(outputSize).also { predict(input, it) }

    /** Predicts into the caller's [output] (length [outputSize]): no allocation per call. */
    @Throws(WolfpackException::class)
    fun predict(input: FloatArray, output: FloatArray) = withHandle { WolfpackNative.predict(it, input, output) }

    /**
     * Predicts [batch] outputs (`batch * outputSize` values, one sample after another) for [batch] inputs
     * (`batch * inputSize` values, sample-major as in a `[batch, inputSize]` array).
     */
    @Throws(WolfpackException::class)
    fun predictBatch(inputs: FloatArray, batch: Int): FloatArray {
        if (batch < 0) throw WolfpackException("invalid argument: batch = $batch is negative")
        val length = try {
            Math.multiplyExact(batch, outputSize)
        } catch (e: ArithmeticException) {
            throw WolfpackException("invalid argument: batch = $batch makes outputs overflow")
        }
        return FloatArray(length).also { predictBatch(inputs, batch, it) }
    }

    /** [predictBatch] into the caller's [outputs] (`batch * outputSize` values). */
    @Throws(WolfpackException::class)
    fun predictBatch(inputs: FloatArray, batch: Int, outputs: FloatArray) =
        withHandle { WolfpackNative.predictBatch(it, inputs, batch, outputs) }

    /** Index of the largest output for [input] (the first one on ties). */
    @Throws(WolfpackException::class)
    fun classifyIndex(input: FloatArray): Int = withHandle { WolfpackNative.classify(it, input) }

    /** The class name (from the model's metadata) of the largest output for [input]. */
    @Throws(WolfpackException::class)
    fun classify(input: FloatArray): String {
        if (labels.isEmpty()) throw WolfpackException("the model has no labels; use classifyIndex")
        return labels[classifyIndex(input)]
    }

    /** Fixed-point iterations of this thread's last prediction with this model (0 before the first). */
    val lastIterations: Int
        @Throws(WolfpackException::class) get() = withHandle { WolfpackNative.lastIterations(it) }

    /** Final update `max |x_{k+1} - x_k|` of this thread's last prediction with this model (NaN before). */
    val lastResidual: Float
        @Throws(WolfpackException::class) get() = withHandle { WolfpackNative.lastResidual(it) }

    /** True once [close] has run. */
    val isClosed: Boolean
        get() {
            val stamp = lock.readLock()
            try {
                return handle == 0L
            } finally {
                lock.unlockRead(stamp)
            }
        }

    /** Frees the native model (waiting for calls in flight on other threads); later calls do nothing. */
    override fun close() {
        closing = true
        val stamp = lock.writeLock()
        try {
            val h = handle
            handle = 0L
            if (h != 0L) WolfpackNative.close(h)
        } finally {
            lock.unlockWrite(stamp)
        }
    }

    override fun toString(): String =
        if (isClosed) "WolfpackModel(closed)" else "WolfpackModel(inputs=$inputSize, outputs=$outputSize)"
}
