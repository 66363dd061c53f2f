//! One guest (platform) of an IGVM file: the importer state igvmfilegen keeps
//! while a paravisor loader runs (`docs/igvm.md` §3–§6) and its finalisation
//! into headers, directives and a launch measurement.
//!
//! [`GuestBuilder`] has one method per importer call, taking the facade's
//! types (`paravisor_loader::ParameterType`, `StartupMemoryType`,
//! `RelocationRegion`, `PageTableRelocation`). The facade's importer trait
//! is implemented on top of it by a thin adapter ([`crate::adapter`]). By
//! concept: `settings` (what the build config says about the guest),
//! `state` (the builder and its output), `accepted` (acceptance tracking),
//! `pages` (page imports, parameter areas, required memory, the
//! imported-regions page), `vp` (VP contexts), `relocation` (relocation
//! records), `finish` (finalisation and measurement).

mod accepted;
mod finish;
mod pages;
mod relocation;
mod settings;
mod state;
#[cfg(test)]
mod tests;
mod vp;

pub use settings::GuestArch;
pub use settings::GuestIsolation;
pub use settings::GuestSettings;
pub use settings::InjectionType;
pub use state::GuestBuilder;
pub use state::GuestOutput;
