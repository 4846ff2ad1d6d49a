// A message cannot be made outside core (it carries the receiver's memory charge, set on delivery).
fn main() {
    let _forged = corral_core::mailbox::Message { from: None, topic: "t".into(), payload: vec![].into(), from_actor: None };
}
