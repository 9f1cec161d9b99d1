use super::*;

fn npy(version: u8, header: &str, data: &[u8]) -> Vec<u8> {
    let mut out = MAGIC.to_vec();
    out.extend([version, 0]);
    if version == 1 {
        out.extend((header.len() as u16).to_le_bytes());
    } else {
        out.extend((header.len() as u32).to_le_bytes());
    }
    out.extend(header.as_bytes());
    out.extend(data);
    out
}

fn parse(bytes: &[u8]) -> Result<Tensor, String> {
    read_npy(&mut &bytes[..], bytes.len() as u64)
}

#[test]
fn reads_headers_of_every_version() {
    let data: Vec<u8> = [1.0f32, -2.5, 3.0, 0.5, 6.0, 7.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    for version in [1, 2, 3] {
        let h = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }          \n";
        let t = parse(&npy(version, h, &data)).unwrap();
        assert_eq!(t.shape, vec![2, 3]);
        assert_eq!(t.data, vec![1.0, -2.5, 3.0, 0.5, 6.0, 7.0]);
    }
    let h = "{\"shape\": (6L,), \"fortran_order\": False, \"descr\": \"<f4\"}";
    assert_eq!(parse(&npy(1, h, &data)).unwrap().shape, vec![6]);
}

#[test]
fn converts_float16_float64_and_big_endian() {
    let h = "{'descr': '<f2', 'fortran_order': False, 'shape': (4,), }";
    let halves = [0x3c00u16, 0xc000, 0x0001, 0x7bff];
    let data: Vec<u8> = halves.iter().flat_map(|v| v.to_le_bytes()).collect();
    let t = parse(&npy(1, h, &data)).unwrap();
    assert_eq!(t.data, vec![1.0, -2.0, 2f32.powi(-24), 65504.0]);

    let h = "{'descr': '>f8', 'fortran_order': False, 'shape': (), }";
    let t = parse(&npy(1, h, &0.1f64.to_be_bytes())).unwrap();
    assert_eq!((t.shape.len(), t.data), (0, vec![0.1f32]));

    let h = "{'descr': '<f8', 'fortran_order': False, 'shape': (1,), }";
    let err = parse(&npy(1, h, &1e300f64.to_le_bytes())).unwrap_err();
    assert!(err.contains("does not fit"), "{err}");
}

#[test]
fn refuses_pickles_fortran_order_and_other_dtypes() {
    let cases = [
        (
            "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }",
            "object",
        ),
        (
            "{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }",
            "Fortran",
        ),
        (
            "{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }",
            "'<i8'",
        ),
        (
            "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }",
            "structured",
        ),
        (
            "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}",
            "unexpected",
        ),
        (
            "{'descr': '<f4', 'fortran_order': False, 'shape': (-1,), }",
            "dimension",
        ),
        ("{'descr': '<f4', 'fortran_order': False}", "lacks 'shape'"),
        ("__import__('os')", "bad header"),
    ];
    for (h, needle) in cases {
        let err = parse(&npy(1, h, &[0; 8])).unwrap_err();
        assert!(err.contains(needle), "{h}: {err}");
    }
}

#[test]
fn refuses_truncated_or_padded_data_and_bad_magic() {
    let h = "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }";
    let bytes = npy(1, h, &[0; 12]);
    assert!(parse(&bytes[..bytes.len() - 1])
        .unwrap_err()
        .contains("needs"));
    let err = read_npy(&mut &bytes[..bytes.len() - 1], bytes.len() as u64).unwrap_err();
    assert!(err.contains("truncated"), "{err}");
    assert!(parse(&bytes[..5]).unwrap_err().contains("truncated"));
    let mut padded = bytes.clone();
    padded.push(0);
    assert!(parse(&padded).unwrap_err().contains("needs"));
    assert!(parse(b"PK\x03\x04 not npy").unwrap_err().contains("magic"));
    let h = "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 8), }";
    assert!(parse(&npy(1, h, &[])).unwrap_err().contains("overflow"));
}
