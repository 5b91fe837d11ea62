use super::*;

#[test]
fn default_leaves_one_cpu_to_the_admin_core() {
    assert_eq!(
        plan(&[0, 1], None),
        Ok(CorePlan {
            data: vec![0],
            admin: 1
        })
    );
    assert_eq!(
        plan(&[0, 1, 2, 3], None),
        Ok(CorePlan {
            data: vec![0, 1, 2],
            admin: 3
        })
    );
    assert_eq!(
        plan(&[5], None),
        Ok(CorePlan {
            data: vec![5],
            admin: 5
        })
    );
}

#[test]
fn explicit_cores() {
    assert_eq!(
        plan(&[0, 1, 2, 3], Some(1)),
        Ok(CorePlan {
            data: vec![0],
            admin: 1
        })
    );
    assert_eq!(
        plan(&[0, 1], Some(2)),
        Ok(CorePlan {
            data: vec![0, 1],
            admin: 1
        })
    );
    assert_eq!(
        plan(&[0, 1], Some(3)),
        Err(PlanError::TooMany {
            asked: 3,
            available: 2
        })
    );
    assert_eq!(plan(&[0, 1], Some(0)), Err(PlanError::Zero));
    assert_eq!(plan(&[], None), Err(PlanError::NoCpu));
}
