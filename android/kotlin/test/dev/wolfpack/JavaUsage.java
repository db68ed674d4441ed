// The Kotlin API as a Java app sees it: static factories, try-with-resources, getters, checked-looking throws.
package dev.wolfpack;

final class JavaUsage {
    private JavaUsage() {}

    /** Opens the model at {@code path}, predicts {@code input} and returns "outputSize classIndex". */
    static String run(String path, float[] input) throws WolfpackException {
        try (WolfpackModel model = WolfpackModel.open(path)) {
            float[] output = new float[model.getOutputSize()];
            model.predict(input, output);
            int best = model.classifyIndex(input);
            String label = model.getLabels().get(best);
            if (!label.equals(model.classify(input)) || model.getLastIterations() < 1 || model.isClosed()) {
                return "inconsistent";
            }
            return output.length + " " + best;
        }
    }
}
