//! The revocation filter of bloomgate.
pub mod geometry;
pub use geometry::{Classic, Geometry, GeometryError};
