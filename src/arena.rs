//! The binary's allocator: a bump arena in front of the system allocator. A status line is a
//! process that lives a millisecond and makes ~110 small allocations (~24 KB in all, measured
//! with dhat); musl's allocator (the static build) spent ~50k of the line's ~186k instructions
//! on them, plus an mmap/munmap pair for most of its fresh pages. Here an allocation is an
//! atomic add in a 64 KiB zeroed static (pages are touched only when used), freeing is a no-op
//! except for the newest block (a buffer dropped right after use gives its room back), and the
//! newest block grows in place. Once the arena is full every request goes to the system
//! allocator, so long-running commands (`refresh`, `doctor`, `history`) behave as before,
//! keeping at most 64 KiB they never free.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicUsize, Ordering};

const SIZE: usize = 64 * 1024;

#[repr(C, align(16))]
struct Space(UnsafeCell<[u8; SIZE]>);

pub struct Arena {
    space: Space,
    /// Offset of the first free byte.
    top: AtomicUsize,
}

// SAFETY: the space is handed out in disjoint ranges claimed by compare-and-swap on `top`.
unsafe impl Sync for Arena {}

impl Arena {
    pub const fn new() -> Arena {
        Arena {
            space: Space(UnsafeCell::new([0; SIZE])),
            top: AtomicUsize::new(0),
        }
    }

    fn base(&self) -> usize {
        self.space.0.get() as usize
    }

    /// The offset of `ptr` in the arena, if it came from there.
    fn offset(&self, ptr: *mut u8) -> Option<usize> {
        (ptr as usize)
            .checked_sub(self.base())
            .filter(|&o| o < SIZE)
    }

    /// A range of `layout` claimed from the arena, or `None` when it does not fit.
    fn claim(&self, layout: Layout) -> Option<*mut u8> {
        let base = self.base();
        let mut top = self.top.load(Ordering::Acquire);
        loop {
            let start = (base + top).next_multiple_of(layout.align()) - base;
            let end = start.checked_add(layout.size()).filter(|&e| e <= SIZE)?;
            match self
                .top
                .compare_exchange_weak(top, end, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return Some((base + start) as *mut u8),
                Err(now) => top = now,
            }
        }
    }
}

impl Default for Arena {
    fn default() -> Arena {
        Arena::new()
    }
}

// SAFETY: every block is either a range of the arena no other live block overlaps (claimed
// by CAS; given back only when it is the newest, by CAS from its end) or the system's.
// Not inlined: LTO would otherwise copy the CAS loop and the fall-back into every allocation
// site (+39 KB of code, measured).
unsafe impl GlobalAlloc for Arena {
    #[inline(never)]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match self.claim(layout) {
            Some(p) => p,
            // SAFETY: the caller's layout contract, passed on.
            None => unsafe { System.alloc(layout) },
        }
    }

    #[inline(never)]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        match self.offset(ptr) {
            // The newest block gives its room back; any other stays claimed until exit.
            Some(start) => {
                let end = start + layout.size();
                let _ = self
                    .top
                    .compare_exchange(end, start, Ordering::AcqRel, Ordering::Acquire);
            }
            // SAFETY: it came from the system allocator with this layout.
            None => unsafe { System.dealloc(ptr, layout) },
        }
    }

    #[inline(never)]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let Some(start) = self.offset(ptr) else {
            // SAFETY: it came from the system allocator with this layout.
            return unsafe { System.realloc(ptr, layout, new_size) };
        };
        let end = start + layout.size();
        // The newest block grows or shrinks where it is.
        if let Some(new_end) = start.checked_add(new_size).filter(|&e| e <= SIZE)
            && self
                .top
                .compare_exchange(end, new_end, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
        {
            return ptr;
        }
        if new_size <= layout.size() {
            return ptr;
        }
        // SAFETY: new_size is non-zero (it exceeds a size) and, per realloc's contract, does
        // not overflow isize when rounded to the alignment.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        // SAFETY: a valid layout; the copy is within both blocks, which do not overlap.
        unsafe {
            let new = self.alloc(new_layout);
            if !new.is_null() {
                std::ptr::copy_nonoverlapping(ptr, new, layout.size());
                self.dealloc(ptr, layout);
            }
            new
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bumps_gives_back_the_newest_and_falls_back_when_full() {
        let arena = Box::new(Arena::new());
        let l = |size, align| Layout::from_size_align(size, align).unwrap();
        // SAFETY: every pointer is used within its layout and freed with it.
        unsafe {
            let a = arena.alloc(l(3, 1));
            let b = arena.alloc(l(8, 8));
            assert_eq!(arena.offset(a), Some(0));
            assert_eq!(arena.offset(b), Some(8), "aligned");
            // The newest block grows in place; an older one moves, keeping its bytes.
            b.write_bytes(7, 8);
            let b2 = arena.realloc(b, l(8, 8), 100);
            assert_eq!(b2, b);
            a.copy_from(b"abc".as_ptr(), 3);
            let a2 = arena.realloc(a, l(3, 1), 5);
            assert_eq!(arena.offset(a2), Some(108));
            assert_eq!(std::slice::from_raw_parts(a2, 3), b"abc");
            // Freeing the newest gives its room back; freeing an older one does not.
            arena.dealloc(a2, l(5, 1));
            assert_eq!(arena.top.load(Ordering::Relaxed), 108);
            arena.dealloc(a, l(3, 1));
            assert_eq!(arena.top.load(Ordering::Relaxed), 108);
            // Too big for what is left: the system's, freed to the system.
            let big = arena.alloc(l(SIZE, 16));
            assert_eq!(arena.offset(big), None);
            big.write_bytes(1, SIZE);
            let big2 = arena.realloc(big, l(SIZE, 16), SIZE * 2);
            assert_eq!(*big2.add(SIZE - 1), 1);
            arena.dealloc(big2, l(SIZE * 2, 16));
            // The newest block cannot grow past the end: it moves to the system.
            let last = arena.alloc(l(16, 1));
            let moved = arena.realloc(last, l(16, 1), SIZE);
            assert_eq!(arena.offset(moved), None);
            arena.dealloc(moved, l(SIZE, 1));
        }
    }

    #[test]
    fn threads_get_disjoint_blocks() {
        let arena = std::sync::Arc::new(Arena::new());
        let handles: Vec<_> = (0..4u8)
            .map(|t| {
                let arena = arena.clone();
                std::thread::spawn(move || {
                    let l = Layout::from_size_align(64, 8).unwrap();
                    // SAFETY: written within the layout, read back, never freed.
                    (0..100)
                        .map(|_| unsafe {
                            let p = arena.alloc(l);
                            p.write_bytes(t, 64);
                            p as usize
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut all: Vec<usize> = handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect();
        all.sort();
        assert!(all.windows(2).all(|w| w[1] - w[0] >= 64), "overlap");
    }
}
