//! Generates the part of libvirt's REMOTE protocol the daemon serves, from
//! `remote_subset.x` (see its header for where it comes from and how it is
//! checked against libvirt's own file).

fn main() -> Result<(), xdrgen_build::Error> {
    xdrgen_build::compile("remote_subset.x")
}
