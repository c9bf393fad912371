//! The app-compatibility harness behind `elfin compat`: a manifest of cases
//! ([`manifest`]), each run natively and in elfin ([`runner`]), judged
//! ([`compare`]) and reported ([`report`]) against a baseline.

pub mod compare;
pub mod manifest;
pub mod report;
pub mod runner;
