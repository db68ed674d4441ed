//! The robustness curve: accuracy under attack (and certified accuracy, when known) against the radius (SVG).

use std::path::Path;

use plotters::prelude::*;

/// Draws the curves `(eps, accuracy in [0, 1])` named by their labels into an SVG file, written atomically.
pub fn robustness_curve(
    title: &str,
    norm: &str,
    curves: &[(&str, Vec<(f64, f64)>)],
    path: &Path,
) -> Result<(), String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (800, 450)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let max_eps = curves
            .iter()
            .flat_map(|(_, c)| c.iter().map(|p| p.0))
            .fold(0.0, f64::max)
            .max(1e-6);
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(48)
            .build_cartesian_2d(0.0..max_eps * 1.02, 0.0..100.0)
            .map_err(|e| e.to_string())?;
        chart
            .configure_mesh()
            .x_desc(format!("eps ({norm})"))
            .y_desc("accuracy (%)")
            .draw()
            .map_err(|e| e.to_string())?;
        let colours = [RED, BLUE, BLACK, GREEN, MAGENTA];
        for (k, (label, c)) in curves.iter().enumerate() {
            let colour = colours[k % colours.len()];
            chart
                .draw_series(LineSeries::new(
                    c.iter().map(|&(e, a)| (e, 100.0 * a)),
                    colour,
                ))
                .map_err(|e| e.to_string())?
                .label(*label)
                .legend(move |(x, y)| PathElement::new([(x, y), (x + 16, y)], colour));
            chart
                .draw_series(
                    c.iter()
                        .map(|&(e, a)| Circle::new((e, 100.0 * a), 3, colour.filled())),
                )
                .map_err(|e| e.to_string())?;
        }
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .position(SeriesLabelPosition::UpperRight)
            .draw()
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    wolfpack_format::write_atomic(path, svg.as_bytes()).map_err(|e| e.to_string())
}
