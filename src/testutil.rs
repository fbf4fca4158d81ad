//! Helpers shared by unit tests: a tiny deterministic RNG for random-input tests (a property
//! testing crate would add more build time than these few tests are worth).

pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        // xorshift64*: deterministic, good enough to shake a parser.
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    pub fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }

    /// Flips, deletes, duplicates and inserts JSON-ish tokens at random places.
    pub fn mutate(&mut self, src: &[u8]) -> Vec<u8> {
        const TOKENS: [&[u8]; 10] = [
            b"null", b"\"", b"{", b"}", b"[", b"]", b"-1e999", b"\"99\"", b",", b"\xff",
        ];
        let mut v = src.to_vec();
        for _ in 0..=self.below(6) {
            if v.is_empty() {
                break;
            }
            let at = self.below(v.len());
            match self.below(4) {
                0 => v[at] = self.next() as u8,
                1 => {
                    let end = (at + self.below(16)).min(v.len());
                    v.drain(at..end);
                }
                2 => {
                    let t = TOKENS[self.below(TOKENS.len())];
                    v.splice(at..at, t.iter().copied());
                }
                _ => v.truncate(at),
            }
        }
        v
    }
}
