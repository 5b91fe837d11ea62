use super::*;
use crate::jwt::Alg;
use crate::keys::KeyMaterial;

#[test]
fn pools_hold_every_kind_with_unique_jtis() {
    let minter = Minter::new(Alg::HS256, &KeyMaterial::Secret(b"k".to_vec()), None, None).unwrap();
    let mix = Mix::parse("valid=90,revoked=5,expired=3,badsig=2,none=1").unwrap();
    let pools = mint_all(&minter, &mix, "t", 2, 10, 1_700_000_000).unwrap();
    assert_eq!(pools.len(), 2);
    let mut all = std::collections::HashSet::new();
    for pool in &pools {
        for kind in [Kind::Valid, Kind::Revoked, Kind::Expired, Kind::BadSig] {
            assert_eq!(pool.tokens(kind).len(), 10, "{kind}");
            for t in pool.tokens(kind) {
                assert!(all.insert(t.clone()), "duplicate token");
            }
        }
        assert!(pool.tokens(Kind::None).is_empty());
        assert_eq!(pool.revoked_jtis().len(), 10);
    }
    assert_eq!(pools[1].revoked_jtis()[0], "t-1-10"); // valid took counters 0..10
}
