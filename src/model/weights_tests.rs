use super::*;

#[test]
fn weight_normals_are_splitmix_box_muller() {
    // SplitMix64 + Box–Muller written independently in Python (integers mod 2^64).
    let mut rng = weight_rng(7);
    let want = [
        -0.610140122416218,
        -0.35320269700263096,
        -0.16497099084234035,
    ];
    for w in want {
        let got = normal(&mut rng);
        assert!((got - w).abs() < 1e-14, "{got} vs {w}");
    }
}

fn r14() -> Variant {
    "r14x0.5".parse().unwrap()
}

#[test]
fn random_weights_are_deterministic_and_conform() {
    let a = Weights::random(&r14(), 2, 7);
    assert_eq!(a, Weights::random(&r14(), 2, 7));
    assert_ne!(a, Weights::random(&r14(), 2, 8));
    assert!(a.tensors[HEAD_KERNEL].data.iter().any(|&v| v != 0.0));
    let gamma = &a.tensors["resnet/group_norm/gamma"].data;
    let mean = gamma.iter().sum::<f32>() / gamma.len() as f32;
    assert!((mean - 1.0).abs() < 0.05, "{mean}");
    a.clone().conform(&r14(), 2).unwrap();
}

#[test]
fn conform_names_the_mis_shaped_tensor_and_both_shapes() {
    let mut w = Weights::random(&r14(), 2, 1);
    let name = "resnet/block2/unit01/b/standardized_conv2d/kernel";
    w.tensors
        .insert(name.into(), Tensor::zeros(vec![3, 3, 64, 32]));
    let err = w.conform(&r14(), 2).unwrap_err().to_string();
    assert!(
        err.contains(name) && err.contains("[3, 3, 64, 32]") && err.contains("[3, 3, 64, 64]"),
        "{err}"
    );
}

#[test]
fn conform_names_missing_and_unexpected_tensors() {
    let name = "resnet/block3/unit01/c/group_norm/beta";
    let mut w = Weights::random(&r14(), 2, 1);
    w.tensors.remove(name);
    let err = w.conform(&r14(), 2).unwrap_err().to_string();
    assert!(err.contains(name) && err.contains("[128]"), "{err}");

    let mut w = Weights::random(&r14(), 2, 1);
    w.tensors
        .insert("resnet/extra".into(), Tensor::zeros(vec![4]));
    let err = w.conform(&r14(), 2).unwrap_err().to_string();
    assert!(err.contains("resnet/extra") && err.contains("[4]"), "{err}");
}

#[test]
fn conform_hints_at_the_variant_that_fits() {
    let r26: Variant = "r26x0.5".parse().unwrap();
    let err = Weights::random(&r26, 2, 1)
        .conform(&r14(), 2)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("unit02") && err.contains("fit r26x0.5"),
        "{err}"
    );
    let wide: Variant = "r14x1".parse().unwrap();
    let err = Weights::random(&wide, 2, 1)
        .conform(&r14(), 2)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains(layout::ROOT_KERNEL) && err.contains("[7, 7, 3, 64]"),
        "{err}"
    );
    assert!(
        err.contains("[7, 7, 3, 32]") && err.contains("fit r14x1"),
        "{err}"
    );
}

#[test]
fn conform_zeroes_a_head_of_another_class_count_or_none() {
    let w = Weights::random(&r14(), 5, 3);
    let body = w.tensors["resnet/group_norm/gamma"].clone();
    let c = w.conform(&r14(), 2).unwrap();
    assert_eq!(c.tensors[HEAD_KERNEL].shape, vec![1, 1, 1024, 2]);
    assert!(c.tensors[HEAD_KERNEL].data.iter().all(|&v| v == 0.0));
    assert_eq!(c.tensors[HEAD_BIAS], Tensor::zeros(vec![2]));
    assert_eq!(c.tensors["resnet/group_norm/gamma"], body);

    let mut w = Weights::random(&r14(), 2, 3);
    w.tensors.remove(HEAD_KERNEL);
    w.tensors.remove(HEAD_BIAS);
    let c = w.conform(&r14(), 2).unwrap();
    assert!(c.tensors[HEAD_BIAS].data.iter().all(|&v| v == 0.0));

    let w = Weights::random(&r14(), 2, 3);
    let kept = w.tensors[HEAD_KERNEL].clone();
    assert_eq!(w.conform(&r14(), 2).unwrap().tensors[HEAD_KERNEL], kept);

    // A head of the wrong input width is an error, not replaced.
    let mut w = Weights::random(&r14(), 2, 3);
    w.tensors
        .insert(HEAD_KERNEL.into(), Tensor::zeros(vec![1, 1, 999, 2]));
    let err = w.conform(&r14(), 2).unwrap_err().to_string();
    assert!(
        err.contains(HEAD_KERNEL) && err.contains("[1, 1, 999, 2]"),
        "{err}"
    );
}

#[test]
fn check_rejects_inconsistent_and_non_finite_tensors() {
    let name = "resnet/block1/unit01/a/group_norm/gamma";
    let mut w = Weights::random(&r14(), 2, 1);
    w.tensors.get_mut(name).unwrap().data.pop();
    let err = w.check(&r14(), 2).unwrap_err().to_string();
    assert!(err.contains(name), "{err}");
    let mut w = Weights::random(&r14(), 2, 1);
    w.tensors.get_mut(name).unwrap().data[3] = f32::NAN;
    let err = w.check(&r14(), 2).unwrap_err().to_string();
    assert!(err.contains(name) && err.contains("index 3"), "{err}");
}
