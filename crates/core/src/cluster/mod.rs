//! Stage 7: clustering document representations.
//!
//! Owns k-means (Euclidean and cosine, k-means++ seeding, restarts) over
//! dense or sparse points. Later stages add choosing k automatically.

pub mod graph;
pub mod kmeans;
pub mod select;

pub use kmeans::{KMeans, KMeansConfig, KMeansError, Metric, Points};
