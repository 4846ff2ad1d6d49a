// A permit cannot be built outside the gate: its fields are private.
fn main() {
    let _forged = corral_core::gate::Permit { kind: corral_core::gate::OpKind::Send, subject: todo!(), op_id: 1 };
}
