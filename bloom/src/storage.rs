//! The bit array's memory: one allocation of cache lines, backed by transparent huge pages when
//! it is large.
//!
//! Why: a lookup is one random cache-line access into tens or hundreds of megabytes. With 4 KiB
//! pages nearly every lookup also misses the TLB and walks the page table (another one or two
//! cache misses); with 2 MiB pages the translations of a 52 MB filter fit in the second-level
//! TLB. And a restore or a new generation faults its memory in 512 times fewer page faults.
//!
//! How: arrays of 2 MiB or more are allocated 2 MiB-aligned and, on Linux, marked
//! `MADV_HUGEPAGE` *before* their first write, so that the kernel backs them with huge pages at
//! fault time (this works with `transparent_hugepage/enabled` set to `madvise`, the usual
//! default, or `always`; with `never` the advice is ignored and the array uses small pages).
//! The advice is a hint: if the kernel refuses it, nothing changes but speed.
//!
//! With `simd` (the AVX2 lookup), this is the only `unsafe` of the crate.

use std::alloc::{Layout, handle_alloc_error};
use std::ptr::NonNull;

use crate::filter::Line;

/// A huge page on x86-64 and aarch64 (4 KiB granule).
const HUGE_PAGE: usize = 2 * 1024 * 1024;

/// A fixed-length array of [`Line`]s that owns its allocation.
pub(crate) struct Lines {
    ptr: NonNull<Line>,
    len: usize,
    layout: Layout,
}

// SAFETY: `Lines` owns its `Line`s exclusively, like a `Box<[Line]>`; `Line` is made of atomics,
// which are `Send` and `Sync`, so sending or sharing the array is as sound as for the box.
unsafe impl Send for Lines {}
// SAFETY: as above: `&Lines` only hands out `&[Line]`, and `Line: Sync`.
unsafe impl Sync for Lines {}

impl Lines {
    /// `len` lines, line `i` being `line(i)`, each written once in order.
    pub(crate) fn from_fn(len: usize, mut line: impl FnMut(usize) -> Line) -> Lines {
        let layout = layout_for(len);
        if layout.size() == 0 {
            return Lines {
                ptr: NonNull::dangling(),
                len: 0,
                layout,
            };
        }
        // SAFETY: `layout` has a non-zero size (checked above) and a power-of-two alignment.
        let raw = unsafe { std::alloc::alloc(layout) };
        let Some(ptr) = NonNull::new(raw.cast::<Line>()) else {
            handle_alloc_error(layout)
        };
        advise_huge_pages(raw, layout);
        for i in 0..len {
            // SAFETY: `i < len` and the allocation holds `len` lines (`layout_for`), aligned for
            // `Line` (the layout's alignment is a multiple of 64); each slot is written exactly
            // once and never read before it is.
            unsafe { ptr.as_ptr().add(i).write(line(i)) };
        }
        Lines { ptr, len, layout }
    }
}

impl std::ops::Deref for Lines {
    type Target = [Line];

    fn deref(&self) -> &[Line] {
        // SAFETY: `ptr` points to `len` initialised, properly aligned lines that live as long as
        // `self` (or is dangling with `len == 0`, which a slice allows).
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for Lines {
    fn drop(&mut self) {
        if self.layout.size() == 0 {
            return;
        }
        // SAFETY: the `len` lines were initialised in `from_fn` and are dropped once, here; the
        // memory was allocated with exactly `self.layout`.
        unsafe {
            std::ptr::drop_in_place(std::ptr::slice_from_raw_parts_mut(
                self.ptr.as_ptr(),
                self.len,
            ));
            std::alloc::dealloc(self.ptr.as_ptr().cast(), self.layout);
        }
    }
}

impl std::fmt::Debug for Lines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lines")
            .field("len", &self.len)
            .field("bytes", &self.layout.size())
            .finish()
    }
}

/// Asks the CPU to bring `line` into the cache, without waiting for it: unlike a load, a
/// prefetch retires at once, so many can be in flight while other work goes on.
#[inline(always)]
pub(crate) fn prefetch(line: &Line) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: `_mm_prefetch` only needs SSE, which every x86-64 CPU has; it is a hint that
    // never faults and has no effect a program can observe but timing, and the address is
    // that of a live `Line` anyway.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
            std::ptr::from_ref(line).cast(),
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = line;
}

/// The layout of `len` lines: 64-byte aligned, or 2 MiB aligned and rounded up to whole huge
/// pages when the array is at least one huge page (the rounding wastes under 2 MiB of address
/// space, never touched, so never resident).
fn layout_for(len: usize) -> Layout {
    let line = std::mem::size_of::<Line>();
    let Some(bytes) = len.checked_mul(line) else {
        capacity_overflow()
    };
    let (size, align) = if bytes >= HUGE_PAGE {
        let Some(rounded) = bytes.checked_next_multiple_of(HUGE_PAGE) else {
            capacity_overflow()
        };
        (rounded, HUGE_PAGE)
    } else {
        (bytes, std::mem::align_of::<Line>())
    };
    match Layout::from_size_align(size, align) {
        Ok(layout) => layout,
        Err(_) => capacity_overflow(),
    }
}

/// Geometries are validated to fit in memory before a filter is built, so this is a bug.
fn capacity_overflow() -> ! {
    panic!("bloom filter of more than isize::MAX bytes (the geometry should have refused it)")
}

/// Asks for huge pages on a fresh, untouched allocation of `layout` at `ptr`.
#[cfg(target_os = "linux")]
fn advise_huge_pages(ptr: *mut u8, layout: Layout) {
    if layout.align() < HUGE_PAGE {
        return;
    }
    // SAFETY: `ptr..ptr + size` is one allocation we own, not yet written; MADV_HUGEPAGE changes
    // how the kernel backs those pages, never their contents, so no Rust object is affected.
    // The result is ignored: the advice is a hint (EINVAL when THP is compiled out).
    unsafe {
        libc::madvise(ptr.cast(), layout.size(), libc::MADV_HUGEPAGE);
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge_pages(_ptr: *mut u8, _layout: Layout) {}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::sync::Ordering::Relaxed;

    #[test]
    fn small_arrays_are_line_aligned_and_large_ones_huge_page_aligned() {
        assert_eq!(layout_for(0).size(), 0);
        let small = layout_for(100);
        assert_eq!((small.size(), small.align()), (6400, 64));
        let large = layout_for(HUGE_PAGE / 64 + 1);
        assert_eq!((large.size(), large.align()), (2 * HUGE_PAGE, HUGE_PAGE));
    }

    #[test]
    fn lines_hold_what_they_were_built_with() {
        for len in [0, 1, 3, HUGE_PAGE / 64 + 5] {
            let lines = Lines::from_fn(len, |i| Line::with_words([i as u64; 8]));
            assert_eq!(lines.len(), len);
            assert_eq!(lines.as_ptr() as usize % 64, 0);
            for (i, line) in lines.iter().enumerate() {
                assert_eq!(line.0[7].load(Relaxed), i as u64);
            }
        }
    }
}
