//! Rendering of restoresim results from plain data: plots (PNG + SVG) of a
//! run and of a sweep, and JUnit XML; later an HTML index. This crate knows neither the engine
//! nor the model: callers hand it the numbers, it draws them.

mod error;
mod font;
pub mod junit;
pub mod run_plot;
pub mod study_plot;
pub mod sweep_plot;
pub mod sweep_report;
pub mod timeline;

pub use error::ReportError;
pub use junit::{JunitCase, JunitProblem, JunitSuite, ProblemKind, write_junit};
pub use run_plot::{
    BandKind, FaultKind, FaultMarker, FaultWindow, MarkKind, PercentSeries, RunPlot, SeriesKind, ShardSeries,
    StateBand, TimeMark, write_run_plot,
};
pub use study_plot::{PointStats, StudyPlot, StudyPoint, StudySeries, write_study_plot};
pub use sweep_plot::{SweepPlot, write_sweep_plot};
