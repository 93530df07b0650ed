//! Saving and loading parameters as safetensors, under PyTorch's names, so a
//! PyTorch user can `load_state_dict` them (`rnn.weight_ih_l0`,
//! `rnn.bias_hh_l1_reverse`, `embedding.weight`, ...).

use std::collections::HashMap;

use safetensors::tensor::{Dtype, SafeTensors, TensorView};

use super::{Module, Param};

/// Errors from loading weights.
#[derive(Debug, thiserror::Error)]
pub enum WeightsError {
    /// Not a safetensors file.
    #[error("not a valid safetensors file: {0}")]
    Format(String),
    /// A parameter is missing.
    #[error("the weights have no tensor {0:?}")]
    Missing(String),
    /// Wrong shape or type.
    #[error("tensor {name:?} has shape {found:?} ({dtype}), expected {expected:?} (F32)")]
    Shape {
        /// Name.
        name: String,
        /// Found shape.
        found: Vec<usize>,
        /// Expected shape.
        expected: Vec<usize>,
        /// Found type.
        dtype: String,
    },
}

/// Serialize every parameter (f32, little-endian) into safetensors bytes.
pub fn to_bytes(model: &mut dyn Module<f32>, metadata: Option<HashMap<String, String>>) -> Vec<u8> {
    to_bytes_inner(model, &[], metadata)
}

/// As [`to_bytes`], plus extra named tensors `(name, shape, values)`.
pub fn to_bytes_with(model: &mut dyn Module<f32>, extra: &[(&str, Vec<usize>, &[f32])]) -> Vec<u8> {
    to_bytes_inner(model, extra, None)
}

fn to_bytes_inner(
    model: &mut dyn Module<f32>,
    extra: &[(&str, Vec<usize>, &[f32])],
    metadata: Option<HashMap<String, String>>,
) -> Vec<u8> {
    let mut tensors: Vec<(String, Vec<usize>, Vec<u8>)> = Vec::new();
    for (name, shape, values) in extra {
        tensors.push((
            name.to_string(),
            shape.clone(),
            values.iter().flat_map(|v| v.to_le_bytes()).collect(),
        ));
    }
    model.visit(&mut |p: &mut Param<f32>| {
        let bytes: Vec<u8> = p.value.iter().flat_map(|v| v.to_le_bytes()).collect();
        tensors.push((p.name.clone(), p.shape.clone(), bytes));
    });
    let views: Vec<(String, TensorView<'_>)> = tensors
        .iter()
        .map(|(n, s, b)| {
            (
                n.clone(),
                TensorView::new(Dtype::F32, s.clone(), b).expect("consistent tensor"),
            )
        })
        .collect();
    safetensors::serialize(views, metadata).expect("serializable tensors")
}

/// The f32 tensor `name` holding exactly `len` values, or what is wrong with it.
pub fn read_f32(st: &SafeTensors, name: &str, len: usize) -> Result<Vec<f32>, String> {
    let t = st.tensor(name).map_err(|_| format!("no tensor {name}"))?;
    if t.dtype() != Dtype::F32 || t.data().len() != len * 4 {
        return Err(format!("tensor {name} has the wrong size"));
    }
    Ok(t.data()
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect())
}

/// Load parameter values by name from safetensors bytes; every parameter must be present with its shape.
pub fn load_bytes(model: &mut dyn Module<f32>, bytes: &[u8]) -> Result<(), WeightsError> {
    let st = SafeTensors::deserialize(bytes).map_err(|e| WeightsError::Format(e.to_string()))?;
    let mut err = None;
    model.visit(&mut |p: &mut Param<f32>| {
        if err.is_some() {
            return;
        }
        match st.tensor(&p.name) {
            Err(_) => err = Some(WeightsError::Missing(p.name.clone())),
            Ok(t) if t.dtype() != Dtype::F32 || t.shape() != p.shape.as_slice() => {
                err = Some(WeightsError::Shape {
                    name: p.name.clone(),
                    found: t.shape().to_vec(),
                    expected: p.shape.clone(),
                    dtype: format!("{:?}", t.dtype()),
                })
            }
            Ok(t) => {
                for (v, c) in p.value.iter_mut().zip(t.data().chunks_exact(4)) {
                    *v = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
                }
            }
        }
    });
    err.map_or(Ok(()), Err)
}
