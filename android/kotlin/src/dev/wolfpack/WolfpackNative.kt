package dev.wolfpack

/**
 * The JNI natives of `libwolfpack_android.so` (Rust crate `android/`, module `natives`). Not public API:
 * [WolfpackModel] guards every handle with its lock.
 *
 * The library is loaded with `System.loadLibrary("wolfpack_android")` (an app's `jniLibs` or an AAR's
 * `jni/<abi>/`), or from the absolute path in the system property `dev.wolfpack.library` when set (tests).
 */
internal object WolfpackNative {
    init {
        val path = System.getProperty("dev.wolfpack.library")
        if (path.isNullOrEmpty()) System.loadLibrary("wolfpack_android") else System.load(path)
    }

    @JvmStatic external fun openPath(path: String): Long

    @JvmStatic external fun openDirect(buffer: java.nio.ByteBuffer, offset: Int, length: Int): Long

    @JvmStatic external fun openBytes(bytes: ByteArray, offset: Int, length: Int): Long

    @JvmStatic external fun close(handle: Long)

    @JvmStatic external fun inputSize(handle: Long): Int

    @JvmStatic external fun outputSize(handle: Long): Int

    @JvmStatic external fun isZeroCopy(handle: Long): Boolean

    @JvmStatic external fun predict(handle: Long, input: FloatArray, output: FloatArray)

    @JvmStatic external fun predictBatch(handle: Long, inputs: FloatArray, batch: Int, outputs: FloatArray)

    @JvmStatic external fun classify(handle: Long, input: FloatArray): Int

    @JvmStatic external fun lastIterations(handle: Long): Int

    @JvmStatic external fun lastResidual(handle: Long): Float

    @JvmStatic external fun labelCount(handle: Long): Int

    @JvmStatic external fun label(handle: Long, index: Int): String

    /** Panics inside Rust on purpose: the tests check it arrives as a [WolfpackException]. */
    @JvmStatic external fun selfTestPanic()
}
