//! The image summary `paravisor-image-summary/1` (docs/formats.md §2–§3):
//! what a loader handed to its importer, normalised, as a value
//! ([`ImageSummary`]) and as JSON; [`SummaryImporter`] makes one.
//!
//! Two loaders that build the same guest image produce the same summary,
//! however they split their page imports: pages are listed in ascending
//! order, adjacent runs with the same tag and acceptance are merged, and each
//! run carries the SHA-256 of its whole bytes (zero-padded pages).

mod image;
mod importer;

pub use image::ImageSummary;
pub use image::PageRun;
pub use image::ParameterAreaRecord;
pub use image::ParameterRecord;
pub use image::SUMMARY_FORMAT;
pub use image::acceptance_name;
pub use importer::SummaryImporter;
