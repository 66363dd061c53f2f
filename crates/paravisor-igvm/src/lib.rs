#![doc = include_str!("../README.md")]
#![forbid(unsafe_code)]
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing,
        clippy::arithmetic_side_effects
    )
)]

pub mod adapter;
pub mod build;
pub mod config;
pub mod diff;
pub mod error;
pub mod guest;
pub mod inspect;
pub mod measure;
pub mod vp_context;

pub use adapter::IgvmImporter;
pub use adapter::build_from_config;
pub use build::IgvmBuild;
pub use build::assemble;
pub use config::IgvmConfig;
pub use error::IgvmError;
pub use guest::GuestBuilder;
pub use inspect::Inspection;
pub use inspect::inspect;
