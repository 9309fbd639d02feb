// Links the static libraries the CMake build makes: librondo_c.a (the C
// API), librondo.a (the store) and the C++ runtime. RONDO_LIB_DIR names the
// directories holding them, separated like PATH (the ctest test sets it to
// build/<preset>/src/c_api:build/<preset>/src:...).
//
// Under the asan preset the libraries are instrumented and the ctest test
// sets RONDO_SANITIZE=1: then the ASan and UBSan runtimes are linked too,
// first among the shared libraries, as ASan requires (rustc links with
// -nodefaultlibs, so `-C link-arg=-fsanitize=...` alone does not bring them).
use std::env;
use std::path::PathBuf;

fn main() {
    println!("cargo:rerun-if-env-changed=RONDO_LIB_DIR");
    println!("cargo:rerun-if-env-changed=RONDO_SANITIZE");
    let dirs = match env::var_os("RONDO_LIB_DIR") {
        Some(dirs) => dirs,
        None => panic!(
            "rondo-sys: set RONDO_LIB_DIR to the directories holding librondo_c.a and librondo.a \
             (e.g. build/release/src/c_api:build/release/src after `cmake --build build/release`)"
        ),
    };
    let mut libs = vec!["rondo_c", "rondo"];
    if env::var_os("CARGO_FEATURE_BENCH_SUPPORT").is_some() {
        libs.insert(0, "rondo_bench_support");
    }
    for lib in &libs {
        let file = format!("lib{}.a", lib);
        let found: Option<PathBuf> = env::split_paths(&dirs).map(|d| d.join(&file)).find(|p| p.exists());
        match found {
            Some(path) => {
                println!("cargo:rerun-if-changed={}", path.display());
                println!("cargo:rustc-link-search=native={}", path.parent().unwrap().display());
            }
            None => panic!("rondo-sys: {} is in none of RONDO_LIB_DIR={:?}", file, dirs),
        }
    }
    // Dependents first: each library only needs the ones after it.
    for lib in &libs {
        println!("cargo:rustc-link-lib=static={}", lib);
    }
    if env::var("RONDO_SANITIZE").map_or(false, |v| v == "1") {
        println!("cargo:rustc-link-lib=dylib=asan");
        println!("cargo:rustc-link-lib=dylib=ubsan");
    }
    // librondo's own dependencies (shared libraries from Debian): RE2 for
    // PromQL regex matchers.
    println!("cargo:rustc-link-lib=dylib=re2");
    println!("cargo:rustc-link-lib=dylib=stdc++");
}
