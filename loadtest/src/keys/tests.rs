use super::*;

fn temp_file(name: &str, contents: &[u8]) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("loadtest-keys-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

#[test]
fn text_secret_and_raw_file_secret() {
    let key = load_secret("s3cret").unwrap();
    assert_eq!(key.material, KeyMaterial::Secret(b"s3cret".to_vec()));
    let path = temp_file("raw.bin", &[0, 1, 2, 255]);
    let key = load_secret(&format!("@{}", path.display())).unwrap();
    assert_eq!(key.material, KeyMaterial::Secret(vec![0, 1, 2, 255]));
    assert!(load_secret("").is_err());
    assert!(matches!(
        load_secret("@/nonexistent/loadtest/key"),
        Err(KeyError::Read { .. })
    ));
}

#[test]
fn jwk_set_first_oct_key_with_kid_and_alg() {
    let path = temp_file(
        "set.json",
        br#"{"keys":[{"kty":"oct","kid":"k1","alg":"HS384","k":"c2VjcmV0"},{"kty":"oct","k":"eA"}]}"#,
    );
    let key = load_secret(&format!("jwk:{}", path.display())).unwrap();
    assert_eq!(key.material, KeyMaterial::Secret(b"secret".to_vec()));
    assert_eq!(key.kid.as_deref(), Some("k1"));
    assert_eq!(key.alg.as_deref(), Some("HS384"));
}

#[test]
fn jwk_errors_name_the_problem() {
    let rsa = temp_file("rsa.json", br#"{"keys":[{"kty":"RSA","n":"AQAB"}]}"#);
    let err = load_secret(&format!("jwk:{}", rsa.display())).unwrap_err();
    assert!(err.to_string().contains("kty `RSA`"), "{err}");
    let broken = temp_file("broken.json", b"{\"keys\":[");
    let err = load_secret(&format!("jwk:{}", broken.display())).unwrap_err();
    assert!(err.to_string().contains("invalid JSON"), "{err}");
    let empty = temp_file("empty.json", br#"{"keys":[]}"#);
    assert!(load_secret(&format!("jwk:{}", empty.display())).is_err());
}

#[test]
fn pem_labels() {
    let pk8 = temp_file(
        "k.pem",
        b"-----BEGIN PRIVATE KEY-----\nMAEC\n-----END PRIVATE KEY-----\n",
    );
    let key = load_private(&pk8.display().to_string()).unwrap();
    assert_eq!(key.material, KeyMaterial::Pkcs8(vec![0x30, 0x01, 0x02]));
    let ec = temp_file(
        "ec.pem",
        b"-----BEGIN EC PRIVATE KEY-----\nMAEC\n-----END EC PRIVATE KEY-----\n",
    );
    let err = load_private(&ec.display().to_string()).unwrap_err();
    assert!(err.to_string().contains("openssl pkcs8"), "{err}");
    let junk = temp_file("junk.der", b"hello");
    assert!(load_private(&junk.display().to_string()).is_err());
    let der = temp_file("k.der", &[0x30, 0x00]);
    assert!(load_private(&format!("@{}", der.display())).is_ok());
}
