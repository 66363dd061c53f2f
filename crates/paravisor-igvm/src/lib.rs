//! Host-side IGVM writer for paravisor loads.
//!
//! (Work in progress.)

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

pub mod error;
pub mod inspect;
pub mod measure;

pub use error::IgvmError;
pub use inspect::Inspection;
pub use inspect::inspect;
