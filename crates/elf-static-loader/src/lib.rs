//! Zero-copy static ELF64 and arm64 flat Image loading through a page importer.
//!
//! (Skeleton: filled in by its issue.)

#![no_std]
#![forbid(unsafe_code)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing, clippy::arithmetic_side_effects))]

pub mod import;

pub use import::ImportPages;
pub use import::PAGE_SIZE;
pub use import::PageAcceptance;
