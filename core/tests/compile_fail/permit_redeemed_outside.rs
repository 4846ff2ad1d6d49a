// Only core's effects redeem a permit: `redeem` is not reachable from outside the crate.
fn redeem(permit: corral_core::gate::Permit) {
    let _ = permit.redeem(corral_core::gate::OpKind::Send, todo!());
}

fn main() {
    let _ = redeem;
}
