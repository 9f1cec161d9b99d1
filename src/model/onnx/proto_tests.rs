use super::*;

#[test]
fn varints_match_the_protobuf_spec() {
    let enc = |v: u64| {
        let mut w = Writer(Vec::new());
        varint(&mut w, v).unwrap();
        w.0
    };
    assert_eq!(enc(0), [0x00]);
    assert_eq!(enc(1), [0x01]);
    assert_eq!(enc(150), [0x96, 0x01]);
    assert_eq!(enc(300), [0xac, 0x02]);
    assert_eq!(enc(u64::MAX).len(), 10);
    assert_eq!(
        enc(-1i64 as u64),
        [0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]
    );
}

#[test]
fn small_messages_encode_as_protoc_would() {
    let opset = OpsetId {
        domain: String::new(),
        version: 17,
    };
    assert_eq!(to_vec(&opset), [0x10, 0x11]);
    assert_eq!(to_vec(&Entry("k", "v")), [0x0a, 1, b'k', 0x12, 1, b'v']);
    let eps = Attribute::Float("epsilon", 1e-5);
    let mut want = vec![0x0a, 7];
    want.extend(b"epsilon");
    want.push(0x15);
    want.extend(1e-5f32.to_le_bytes());
    want.extend([0xa0, 0x01, 0x01]);
    assert_eq!(to_vec(&eps), want);
    let t = TensorProto {
        name: "w".into(),
        dims: vec![2],
        data: Data::F32(vec![1.0, -1.0].into()),
        external: None,
    };
    let mut want = vec![0x08, 2, 0x10, 1, 0x42, 1, b'w', 0x4a, 8];
    want.extend(1.0f32.to_le_bytes());
    want.extend((-1.0f32).to_le_bytes());
    assert_eq!(to_vec(&t), want);
}

#[test]
fn counted_length_equals_written_length() {
    let info = ValueInfo {
        name: "image".into(),
        elem_type: DataType::Float,
        dims: vec![Dim::Param("batch".into()), Dim::Value(3)],
    };
    assert_eq!(info.encoded_len() as usize, to_vec(&info).len());
    let big = TensorProto {
        name: "big".into(),
        dims: vec![100_000],
        data: Data::F32(vec![0.5; 100_000].into()),
        external: None,
    };
    assert_eq!(big.encoded_len() as usize, to_vec(&big).len());
}
