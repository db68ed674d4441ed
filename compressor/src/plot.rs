//! The training-curve plot written beside a report: train and test accuracy, and nonzeros, per epoch (SVG).

use std::path::Path;

use plotters::prelude::*;

use crate::train::EpochStats;

/// Draws accuracy (left axis) and stored nonzeros (right axis) per epoch into an SVG file, written atomically.
pub fn training_curve(history: &[EpochStats], path: &Path) -> Result<(), String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (800, 450)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| e.to_string())?;
        let epochs = history.len().max(1) as f64;
        let max_nnz = history
            .iter()
            .map(|s| s.nnz.iter().sum::<usize>())
            .max()
            .unwrap_or(1)
            .max(1) as f64;
        let mut chart = ChartBuilder::on(&root)
            .caption("wolfpack compress: training curve", ("sans-serif", 20))
            .margin(12)
            .x_label_area_size(36)
            .y_label_area_size(48)
            .right_y_label_area_size(64)
            .build_cartesian_2d(0.0..epochs, 0.0..100.0)
            .map_err(|e| e.to_string())?
            .set_secondary_coord(0.0..epochs, 0.0..max_nnz * 1.05);
        chart
            .configure_mesh()
            .x_desc("epoch")
            .y_desc("accuracy (%)")
            .draw()
            .map_err(|e| e.to_string())?;
        chart
            .configure_secondary_axes()
            .y_desc("stored nonzeros")
            .draw()
            .map_err(|e| e.to_string())?;
        let series =
            |f: fn(&EpochStats) -> f64| history.iter().map(move |s| (s.epoch as f64, f(s)));
        chart
            .draw_series(LineSeries::new(series(|s| 100.0 * s.train_accuracy), &BLUE))
            .map_err(|e| e.to_string())?
            .label("train accuracy")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], BLUE));
        chart
            .draw_series(LineSeries::new(series(|s| 100.0 * s.test_accuracy), &RED))
            .map_err(|e| e.to_string())?
            .label("test accuracy")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], RED));
        chart
            .draw_secondary_series(LineSeries::new(
                series(|s| s.nnz.iter().sum::<usize>() as f64),
                &BLACK,
            ))
            .map_err(|e| e.to_string())?
            .label("nonzeros (right axis)")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 16, y)], BLACK));
        chart
            .configure_series_labels()
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK)
            .position(SeriesLabelPosition::LowerRight)
            .draw()
            .map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    wolfpack_format::write_atomic(path, svg.as_bytes()).map_err(|e| e.to_string())
}
