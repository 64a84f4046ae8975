//! Java behaviours that reach the wire: `java.util.Random` (session passwords
//! are `Random(sessionId ^ 0xB3415C00).nextBytes(16)`, and an Apache server in
//! the same ensemble checks a password by regenerating it), `String.hashCode`,
//! and the iteration order of a `java.util.HashSet<String>` (clients see it in
//! getChildren and getEphemerals replies, and zkCli prints it as is).

/// `java.util.Random`'s 48-bit linear congruential generator.
pub struct JavaRandom {
    seed: u64,
}

const MULTIPLIER: u64 = 0x5_DEEC_E66D;
const MASK: u64 = (1 << 48) - 1;

impl JavaRandom {
    /// `new Random(seed)`.
    pub fn new(seed: i64) -> JavaRandom {
        JavaRandom {
            seed: (seed as u64 ^ MULTIPLIER) & MASK,
        }
    }

    fn next(&mut self, bits: u32) -> i32 {
        self.seed = (self.seed.wrapping_mul(MULTIPLIER).wrapping_add(0xB)) & MASK;
        (self.seed >> (48 - bits)) as i64 as i32
    }

    /// `nextInt()`.
    pub fn next_int(&mut self) -> i32 {
        self.next(32)
    }

    /// `nextBytes(bytes)`.
    pub fn next_bytes(&mut self, out: &mut [u8]) {
        let mut i = 0;
        while i < out.len() {
            let mut rnd = self.next_int();
            let n = (out.len() - i).min(4);
            for _ in 0..n {
                out[i] = rnd as u8;
                rnd >>= 8;
                i += 1;
            }
        }
    }
}

/// The 16-byte password ZooKeeper derives from a session id.
pub fn session_password(session_id: i64) -> [u8; 16] {
    let mut out = [0u8; 16];
    JavaRandom::new(session_id ^ 0xB341_5C00).next_bytes(&mut out);
    out
}

/// `String.hashCode()` over UTF-16 code units.
pub fn string_hash(s: &str) -> i32 {
    if s.is_ascii() {
        // One UTF-16 code unit per byte.
        return s
            .bytes()
            .fold(0i32, |h, b| h.wrapping_mul(31).wrapping_add(b as i32));
    }
    let mut h: i32 = 0;
    for unit in s.encode_utf16() {
        h = h.wrapping_mul(31).wrapping_add(unit as i32);
    }
    h
}

/// A set of strings that iterates in the order a `java.util.HashSet` with the
/// same history would: by bucket of the spread hash under the current table
/// capacity, and by insertion order within a bucket. The table never shrinks,
/// so the capacity follows the largest size the set has ever had.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct JavaHashSet {
    /// Members in insertion order (a re-added member goes to the end).
    items: Vec<Box<str>>,
    capacity: JavaCapacity,
}

/// The table capacity of a `java.util.HashMap` (and so of a `HashSet`): a
/// power of two that doubles whenever the size exceeds 0.75 × capacity and
/// never shrinks. With [`bucket_order`] it decides iteration order.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JavaCapacity {
    /// log2 of the capacity.
    log2: u8,
}

impl JavaCapacity {
    /// The capacity of `new HashMap<>(initial_capacity)` once allocated.
    pub fn new(initial_capacity: usize) -> JavaCapacity {
        let cap = initial_capacity.max(1).next_power_of_two();
        JavaCapacity {
            log2: cap.trailing_zeros() as u8,
        }
    }

    /// Grows as the table would once it holds `len` entries.
    pub fn grow_for(&mut self, len: usize) {
        while len * 4 > (3usize << self.log2) {
            self.log2 += 1;
        }
    }

    /// The mask that picks a bucket from a spread hash.
    pub fn mask(self) -> u32 {
        (1u32 << self.log2) - 1
    }
}

impl JavaHashSet {
    /// Creates a set as `new HashSet<>(initial_capacity)` would.
    pub fn with_java_capacity(initial_capacity: usize) -> JavaHashSet {
        JavaHashSet {
            items: Vec::new(),
            capacity: JavaCapacity::new(initial_capacity),
        }
    }

    /// Number of members.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are no members.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Whether `s` is a member.
    pub fn contains(&self, s: &str) -> bool {
        self.items.iter().any(|x| &**x == s)
    }

    /// Adds `s`; false if it was already there.
    pub fn insert(&mut self, s: &str) -> bool {
        if self.contains(s) {
            return false;
        }
        self.insert_new(s);
        true
    }

    /// Adds `s`, which the caller knows is not a member (the data tree knows
    /// from its node map in O(1); `insert` would scan every member).
    pub fn insert_new(&mut self, s: &str) {
        debug_assert!(!self.contains(s), "{s} is already a member");
        self.items.push(s.into());
        self.capacity.grow_for(self.items.len());
    }

    /// Removes `s`; false if it was not there.
    pub fn remove(&mut self, s: &str) -> bool {
        match self.items.iter().position(|x| &**x == s) {
            Some(i) => {
                self.items.remove(i);
                true
            }
            None => false,
        }
    }

    /// Members in insertion order.
    pub fn iter_inserted(&self) -> impl Iterator<Item = &str> {
        self.items.iter().map(|s| &**s)
    }

    /// Members in the iteration order of a clone of this set: `HashMap.clone`
    /// re-inserts the members, in this set's order, into a fresh table sized
    /// `tableSizeFor((int)(size / 0.75f + 1.0f))` (JDK 17).
    pub fn clone_order(&self) -> Vec<String> {
        let order = self.java_order();
        let t = (order.len() as f32 / 0.75f32 + 1.0f32) as usize;
        let cap = t.max(1).next_power_of_two();
        bucket_order(order, cap as u32 - 1, |s| string_hash(s))
    }

    /// Members in Java's iteration order.
    pub fn java_order(&self) -> Vec<String> {
        self.java_order_refs()
            .into_iter()
            .map(str::to_string)
            .collect()
    }

    /// [`java_order`](Self::java_order) without copying the names.
    pub fn java_order_refs(&self) -> Vec<&str> {
        let refs = self.items.iter().map(|s| &**s).collect();
        bucket_order(refs, self.capacity.mask(), |s| string_hash(s))
    }
}

/// Sorts `items` (given in insertion order) by hash bucket under `mask`,
/// keeping insertion order within a bucket, as a Java hash table iterates.
pub fn bucket_order<T>(items: Vec<T>, mask: u32, hash: impl Fn(&T) -> i32) -> Vec<T> {
    let mut keyed: Vec<(u32, T)> = items
        .into_iter()
        .map(|x| {
            let h = hash(&x) as u32;
            ((h ^ (h >> 16)) & mask, x)
        })
        .collect();
    // Stable: ties keep insertion order, as a bucket's chain does.
    keyed.sort_by_key(|(bucket, _)| *bucket);
    keyed.into_iter().map(|(_, x)| x).collect()
}

/// `Id.hashCode()` as jute generates it.
pub fn id_hash(scheme: &str, id: &str) -> i32 {
    let mut r: i32 = 17;
    r = r.wrapping_mul(37).wrapping_add(string_hash(scheme));
    r.wrapping_mul(37).wrapping_add(string_hash(id))
}

/// Orders a connection's auth ids (given in insertion order) as ZooKeeper
/// 3.8 iterates them: its auth info is a `ConcurrentHashMap`-backed set
/// (16 bins, doubling past 0.75 load; bins in index order).
pub fn concurrent_set_order<T>(items: Vec<T>, key: impl Fn(&T) -> (&str, &str)) -> Vec<T> {
    let mut cap = 16usize;
    while items.len() * 4 > cap * 3 {
        cap *= 2;
    }
    // ConcurrentHashMap's spread also clears the sign bit.
    let mask = (cap as u32 - 1) & 0x7fff_ffff;
    bucket_order(items, mask, |x| {
        let (scheme, id) = key(x);
        id_hash(scheme, id)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_matches_java() {
        // new Random(42).nextInt() == -1170105035 in Java.
        assert_eq!(JavaRandom::new(42).next_int(), -1170105035);
        let mut r = JavaRandom::new(0);
        // new Random(0): -1155484576, -723955400.
        assert_eq!(r.next_int(), -1155484576);
        assert_eq!(r.next_int(), -723955400);
    }

    #[test]
    fn string_hash_matches_java() {
        assert_eq!(string_hash(""), 0);
        assert_eq!(string_hash("hello"), 99162322);
        assert_eq!(string_hash("a"), 97);
        assert_eq!(string_hash("ab"), 97 * 31 + 98);
        // Beyond ASCII, UTF-16 code units: "é" is U+00E9, "😀" a surrogate pair.
        assert_eq!(string_hash("é"), 0xe9);
        assert_eq!(string_hash("a😀"), (97 * 31 + 0xd83d) * 31 + 0xde00);
    }

    #[test]
    fn hash_set_orders_by_bucket_then_insertion() {
        let mut s = JavaHashSet::with_java_capacity(8);
        for x in ["c", "b", "a"] {
            s.insert(x);
        }
        // Single-letter hashes are their code points: 97, 98, 99 -> buckets 1, 2, 3.
        assert_eq!(s.java_order(), vec!["a", "b", "c"]);
        let mut s = JavaHashSet::with_java_capacity(8);
        for i in 0..20 {
            s.insert(&format!("n{i}"));
        }
        assert_eq!(s.capacity.mask(), (1 << 5) - 1);
        assert_eq!(s.java_order().len(), 20);
    }

    #[test]
    fn clone_order_rebuckets_small_sets() {
        // Observed on the reference: with /e/q0000000000 created first and
        // /d/a0000000001 second, getEphemerals lists /d/a... first.
        let mut s = JavaHashSet::with_java_capacity(16);
        s.insert("/e/q0000000000");
        s.insert("/d/a0000000001");
        assert_eq!(s.clone_order(), vec!["/d/a0000000001", "/e/q0000000000"]);
    }
}
