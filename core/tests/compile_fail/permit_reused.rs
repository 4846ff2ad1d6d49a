// A permit is used up: it is neither `Copy` nor `Clone`, so one handed on cannot be used again.
fn spend(_permit: corral_core::gate::Permit) {}

fn reuse(permit: corral_core::gate::Permit) {
    spend(permit);
    spend(permit);
}

fn main() {
    let _ = reuse;
}
