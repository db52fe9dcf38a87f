//! Generates the REMOTE protocol from libvirt's own `remote_protocol.x`
//! (read from `../shared/corpus` beside the clone, never copied), with the
//! constants libvirt's C build takes from its public headers.

fn main() -> Result<(), xdrgen_build::Error> {
    let mut builder = xdrgen_build::Builder::new();
    builder.file("../../../shared/corpus/libvirt/remote_protocol.x");
    for (name, value) in [
        ("VIR_UUID_BUFLEN", "16"),
        ("VIR_SECURITY_MODEL_BUFLEN", "257"),
        ("VIR_SECURITY_LABEL_BUFLEN", "4097"),
        ("VIR_SECURITY_DOI_BUFLEN", "257"),
        ("VIR_TYPED_PARAM_INT", "1"),
        ("VIR_TYPED_PARAM_UINT", "2"),
        ("VIR_TYPED_PARAM_LLONG", "3"),
        ("VIR_TYPED_PARAM_ULLONG", "4"),
        ("VIR_TYPED_PARAM_DOUBLE", "5"),
        ("VIR_TYPED_PARAM_BOOLEAN", "6"),
        ("VIR_TYPED_PARAM_STRING", "7"),
    ] {
        builder.define(name, Some(value));
    }
    builder.compile()
}
