//! `xvirsh [-c URI] VERB ...`: virsh's everyday verbs over xdrgen's
//! libvirt client (see the library's docs and `xvirsh --help`).

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let mut out = std::io::stdout();
    let mut err = std::io::stderr();
    let status = example_libvirt_cli::run(
        std::env::args_os(),
        &mut out,
        &mut err,
        example_libvirt_cli::ctrl_c(),
    )
    .await;
    std::process::ExitCode::from(status)
}
