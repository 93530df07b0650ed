//! Stage 10: scoring clusters against gold labels, when a corpus has them.
//!
//! Labels reach this module and nothing upstream of it: they score, they
//! never train.

pub mod metrics;
pub mod per_class;

pub use metrics::{encode_labels, Scores};
pub use per_class::{per_cluster, ClusterScore};
