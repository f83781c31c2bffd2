// pf_pathref.c: the fast path's per-packet work written again in plain C, as a yardstick for
// the C# pipeline on the same machine (perf/README.md, "C reference"). The benchmark process
// loads it (libpf_pathref.so) and alternates its cases with the C# ones, so both are timed
// side by side under the same neighbours.
//
// Same data layout and the same steps as src/FastPath/Pipeline, for untagged IPv4 TCP/UDP:
// - parse: Ethernet, IPv4 without options, TCP/UDP header bounds, the 40-byte flow key;
// - ct: two buckets of 8 slots picked by a seeded 64-bit hash, State words (status,
//   generation, tag) apart from the 64-byte entries, both buckets' tags matched with one AVX2
//   compare each, a hit re-checked against its State word (seqlock);
// - new flow: frontend by hash index, Maglev slot by jhash of (client, ports, protocol) and a
//   multiply-based modulo, backend entry, reply key and probe, the reply tuple looked up, both
//   slots claimed by CAS in the emptier bucket, both entries written and published, the reply
//   key queued for the BPF map, a flow event written to a ring;
// - established flow: backend still live, policy revision unchanged, TCP flags and expiry
//   refreshed, State re-checked;
// - next hop from a per-backend cache, DNAT with incremental IPv4 and TCP/UDP checksums, MAC
//   rewrite, per-frontend and per-backend counters;
// - batches staged ahead like ProcessBatch: 4 frames ahead parse, hash and prefetch the State
//   lines; 2 ahead prefetch the entry line (or plan a new flow and prefetch its reply's State
//   lines); 1 ahead prefetch the reply's entry line.
// Left out (the C# pays for them, this does not): IPv6 and VLAN parsing, policy, replies,
// deletes, the sweeper. The C reference is therefore a lower bound for the same work.
#define _GNU_SOURCE
#include <immintrin.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PR_EXPORT __attribute__((visibility("default")))
#define PR_INLINE static inline __attribute__((always_inline))

enum { SLOTS = 8, STAGE_AHEAD = 4, LOCATE_AHEAD = 2, STAGE_RING = 8, MAX_BATCH = 256, PENDING = 1024, EVENTS = 4096 };
enum { ST_EMPTY = 0, ST_CLAIMED = 1, ST_VALID = 2, ST_STATUS = 3, GEN_STEP = 4, GEN_MASK = 0xFFFC, TAG_SHIFT = 16 };
enum { DIR_FORWARD = 0, DIR_REPLY = 1 };
enum { PROTO_TCP = 6, PROTO_UDP = 17 };
enum { TCP_FIN = 1, TCP_SYN = 2, TCP_RST = 4, TCP_ACK = 16 };
enum { FL_SEEN_NON_SYN = 1, FL_FIN_CLIENT = 2, FL_RESET = 8 };
enum { VERDICT_DROP = 0, VERDICT_FORWARD = 1 };
enum { DROP_MALFORMED = 1, DROP_NO_SERVICE = 2, DROP_NO_BACKEND = 3, DROP_CT_FULL = 4, DROP_IN_USE = 5,
       DROP_BACKEND_GONE = 6, DROP_NO_FLOW = 7, DROP_BACKLOG = 8 };

struct pr_key {
    uint8_t src[16], dst[16];
    uint16_t sport, dport; // raw: network order in memory
    uint8_t proto, pad[3];
};

struct pr_entry {
    uint8_t src[16], dst[16];
    uint16_t sport, dport;
    uint8_t proto, dir;
    uint16_t backend_check;
    int32_t partner;
    uint32_t backend_or_partner_state; // forward: backend id; reply: the forward entry's State
    union { struct { int32_t flags, expires; } f; uint64_t client_mac_slot; } a;
    union { struct { int32_t policy_rev; uint32_t frontend_id; } f; uint64_t local_mac; } b;
} __attribute__((aligned(64)));

struct pr_backend {
    uint8_t addr[16];
    uint16_t port;
    uint8_t active;
    uint16_t check;
};

struct pr_frontend {
    uint8_t vip[16];
    uint16_t port;
    uint8_t proto;
    uint32_t id;
    const uint32_t *table;
    uint32_t size;
    uint64_t modulus; // ceil(2^64 / size): slot = ((modulus * hash) * size) >> 64
};

struct pr_hop { uint32_t generation; uint64_t src_mac, dst_mac; int slot; };

struct pr_event {
    int64_t sequence, time_ms;
    uint8_t src[16], dst[16], backend[16];
    uint16_t sport, dport, bport;
    uint8_t proto, kind, reason, policy_dir;
    uint32_t src_identity, dst_identity;
    int32_t frontend_index;
    uint32_t backend_id;
};

struct pr_probe { int first, second, tag; };

struct pr_plan { bool known; int frontend; uint32_t backend; struct pr_key reply; struct pr_probe reply_probe; };

struct pr_packet {
    struct pr_key key; // the parsed packet is its own key, as in the C# ParsedPacket
    int l3, l4, ip_end, l4_csum;
    uint8_t tcp_flags;
    bool udp_csum_absent;
};

struct pr_staged { int reason; struct pr_packet pkt; struct pr_probe probe; struct pr_plan plan; };

struct pr_count { uint64_t packets, bytes; };

struct pr_ctx {
    struct pr_entry *entries;
    int32_t *states;
    uint32_t capacity, bucket_mask;
    uint64_t seed;
    int single_inserter; // one thread inserts: claims are plain stores (CtTable.SingleInserter)
    struct pr_frontend frontend;
    int32_t frontend_slots[16];
    struct pr_backend *backends;
    uint32_t backend_count, maglev_seed;
    struct pr_hop *hops;
    uint32_t hop_generation;
    uint64_t local_mac, backend_mac;
    int backend_slot;
    int32_t policy_revision;
    int64_t now_ms;
    struct pr_key pending[PENDING];
    int pending_count;
    struct pr_event *events;
    int64_t event_head;
    struct pr_count *frontend_traffic, *backend_traffic;
    uint64_t packets, forwarded, new_flows, drops[16];
    struct pr_staged staged[STAGE_RING];
};

PR_INLINE uint64_t rotl64(uint64_t v, int r) { return (v << r) | (v >> (64 - r)); }
PR_INLINE uint32_t rotl32(uint32_t v, int r) { return (v << r) | (v >> (32 - r)); }

PR_INLINE uint64_t key_hash(const struct pr_key *k, uint64_t seed)
{
    uint64_t w[5];
    memcpy(w, k, sizeof w);
    uint64_t a = (w[0] ^ seed) * 0x9E3779B97F4A7C15ULL;
    uint64_t b = (w[1] ^ rotl64(seed, 13)) * 0xC2B2AE3D27D4EB4FULL;
    uint64_t c = (w[2] ^ rotl64(seed, 29)) * 0x165667B19E3779F9ULL;
    uint64_t d = (w[3] ^ rotl64(seed, 43)) * 0xFF51AFD7ED558CCDULL;
    uint64_t e = (w[4] ^ rotl64(seed, 53)) * 0xC4CEB9FE1A85EC53ULL;
    uint64_t h = rotl64(a, 17) ^ rotl64(b, 31) ^ rotl64(c, 47) ^ rotl64(d, 7) ^ e;
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDULL;
    h ^= h >> 33;
    h *= 0xC4CEB9FE1A85EC53ULL;
    return h ^ (h >> 33);
}

// Bob Jenkins' final mix, as the kernel's jhash_3words uses it (Cilium's Maglev lookup hash).
PR_INLINE uint32_t jhash_3words(uint32_t a, uint32_t b, uint32_t c, uint32_t seed)
{
    uint32_t init = 0xdeadbeef + (3 << 2) + seed;
    a += init; b += init; c += init;
    c ^= b; c -= rotl32(b, 14);
    a ^= c; a -= rotl32(c, 11);
    b ^= a; b -= rotl32(a, 25);
    c ^= b; c -= rotl32(b, 16);
    a ^= c; a -= rotl32(c, 4);
    b ^= a; b -= rotl32(a, 14);
    c ^= b; c -= rotl32(b, 24);
    return c;
}

PR_INLINE struct pr_probe ct_probe(const struct pr_ctx *ct, const struct pr_key *k)
{
    uint64_t h = key_hash(k, ct->seed);
    struct pr_probe p = { (int)(h & ct->bucket_mask), (int)((h >> 32) & ct->bucket_mask), (int)((h * 0x9E3779B97F4A7C15ULL) >> 48) };
    if (p.second == p.first)
        p.second = p.first ^ 1;
    return p;
}

PR_INLINE void prefetch_states(const struct pr_ctx *ct, const struct pr_probe *p)
{
    _mm_prefetch((const char *)&ct->states[p->first * SLOTS], _MM_HINT_T0);
    _mm_prefetch((const char *)&ct->states[p->second * SLOTS], _MM_HINT_T0);
}

PR_INLINE uint32_t bucket_mask_where(const struct pr_ctx *ct, int bucket, int32_t mask, int32_t value)
{
    __m256i states = _mm256_load_si256((const __m256i *)&ct->states[bucket * SLOTS]);
    __m256i hit = _mm256_cmpeq_epi32(_mm256_and_si256(states, _mm256_set1_epi32(mask)), _mm256_set1_epi32(value));
    return (uint32_t)_mm256_movemask_ps(_mm256_castsi256_ps(hit));
}

PR_INLINE uint32_t candidates(const struct pr_ctx *ct, const struct pr_probe *p)
{
    int32_t mask = (int32_t)0xFFFF0000 | ST_STATUS, value = (p->tag << TAG_SHIFT) | ST_VALID;
    return bucket_mask_where(ct, p->first, mask, value) | (bucket_mask_where(ct, p->second, mask, value) << SLOTS);
}

PR_INLINE int candidate_slot(const struct pr_probe *p, int bit)
{
    return bit < SLOTS ? p->first * SLOTS + bit : p->second * SLOTS + bit - SLOTS;
}

PR_INLINE bool key_equals(const struct pr_entry *e, const struct pr_key *k)
{
    __m128i d = _mm_or_si128(_mm_xor_si128(_mm_loadu_si128((const __m128i *)e->src), _mm_loadu_si128((const __m128i *)k->src)),
                             _mm_xor_si128(_mm_loadu_si128((const __m128i *)e->dst), _mm_loadu_si128((const __m128i *)k->dst)));
    uint64_t et, kt;
    memcpy(&et, &e->sport, 8);
    memcpy(&kt, &k->sport, 8);
    return _mm_testz_si128(d, d) && ((et ^ kt) & 0x000000FFFFFFFFFFULL) == 0;
}

struct pr_flow { int index, state, dir, partner; };

PR_INLINE bool ct_lookup(const struct pr_ctx *ct, const struct pr_key *k, const struct pr_probe *p, struct pr_flow *flow)
{
    for (uint32_t c = candidates(ct, p); c != 0; c &= c - 1) {
        int i = candidate_slot(p, __builtin_ctz(c));
        int state = __atomic_load_n(&ct->states[i], __ATOMIC_ACQUIRE);
        if ((state & ST_STATUS) != ST_VALID || (state >> TAG_SHIFT & 0xFFFF) != p->tag)
            continue;
        const struct pr_entry *e = &ct->entries[i];
        if (!key_equals(e, k))
            continue;
        int dir = e->dir, partner = e->partner;
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&ct->states[i], __ATOMIC_RELAXED) != state)
            continue;
        *flow = (struct pr_flow){ i, state, dir, partner };
        return true;
    }
    return false;
}

// True when a tag matched (the key probably exists); either way the line the next step reads
// or claims starts loading.
PR_INLINE bool prefetch_entry(const struct pr_ctx *ct, const struct pr_probe *p)
{
    uint32_t c = candidates(ct, p);
    int index;
    if (c != 0) {
        index = candidate_slot(p, __builtin_ctz(c));
    } else {
        uint32_t e1 = bucket_mask_where(ct, p->first, ST_STATUS, ST_EMPTY), e2 = bucket_mask_where(ct, p->second, ST_STATUS, ST_EMPTY);
        bool second_first = __builtin_popcount(e2) > __builtin_popcount(e1);
        uint32_t e = second_first ? e2 : e1, other = second_first ? e1 : e2;
        int b = second_first ? p->second : p->first, ob = second_first ? p->first : p->second;
        if (e != 0)
            index = b * SLOTS + __builtin_ctz(e);
        else if (other != 0)
            index = ob * SLOTS + __builtin_ctz(other);
        else
            return false;
    }
    _mm_prefetch((const char *)&ct->entries[index], _MM_HINT_T0);
    return c != 0;
}

PR_INLINE int claim_in(struct pr_ctx *ct, int bucket, uint32_t empty, int tag)
{
    for (; empty != 0; empty &= empty - 1) {
        int i = bucket * SLOTS + __builtin_ctz(empty);
        int32_t seen = __atomic_load_n(&ct->states[i], __ATOMIC_RELAXED);
        if ((seen & ST_STATUS) != ST_EMPTY)
            continue;
        int32_t claimed = (tag << TAG_SHIFT) | (((seen & GEN_MASK) + GEN_STEP) & GEN_MASK) | ST_CLAIMED;
        if (ct->single_inserter) {
            __atomic_store_n(&ct->states[i], claimed, __ATOMIC_RELAXED);
            return i;
        }
        if (__atomic_compare_exchange_n(&ct->states[i], &seen, claimed, false, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
            return i;
    }
    return -1;
}

static int claim(struct pr_ctx *ct, const struct pr_probe *p)
{
    uint32_t e1 = bucket_mask_where(ct, p->first, ST_STATUS, ST_EMPTY), e2 = bucket_mask_where(ct, p->second, ST_STATUS, ST_EMPTY);
    bool second_first = __builtin_popcount(e2) > __builtin_popcount(e1);
    int i = claim_in(ct, second_first ? p->second : p->first, second_first ? e2 : e1, p->tag);
    return i >= 0 ? i : claim_in(ct, second_first ? p->first : p->second, second_first ? e1 : e2, p->tag);
}

PR_INLINE void write_key(struct pr_entry *e, const struct pr_key *k)
{
    memcpy(e, k, 37);
}

static uint16_t backend_check(const uint8_t addr[16], uint16_t port)
{
    uint32_t w[4];
    memcpy(w, addr, 16);
    uint32_t h = (w[0] * 0x9E3779B1u) ^ (w[1] * 0x85EBCA77u) ^ (w[2] * 0xC2B2AE3Du) ^ (w[3] * 0x27D4EB2Fu);
    h ^= (uint32_t)port * 0x9E3779B1u;
    return (uint16_t)(h ^ (h >> 16));
}

PR_INLINE int flags_for(uint8_t tcp)
{
    int f = (tcp & TCP_SYN) ? 0 : FL_SEEN_NON_SYN;
    if (tcp & TCP_FIN) f |= FL_FIN_CLIENT;
    if (tcp & TCP_RST) f |= FL_RESET;
    return f;
}

PR_INLINE int64_t lifetime_ms(uint8_t proto, int flags)
{
    if (proto != PROTO_TCP) return 60000;
    if (flags & FL_RESET) return 10000;
    return (flags & FL_SEEN_NON_SYN) ? 21600000 : 60000;
}

// 0 created, else the drop reason.
static int create_flow(struct pr_ctx *ct, const struct pr_packet *pkt, const struct pr_probe *probe, const struct pr_plan *plan,
                       const struct pr_backend *be, uint64_t client_mac_slot, uint64_t local_mac, uint32_t frontend_id)
{
    struct pr_flow ignored;
    if (ct_lookup(ct, &plan->reply, &plan->reply_probe, &ignored))
        return DROP_IN_USE;
    int fi = claim(ct, probe);
    int ri = fi < 0 ? -1 : claim(ct, &plan->reply_probe);
    if (ri < 0) {
        if (fi >= 0)
            __atomic_store_n(&ct->states[fi], ct->states[fi] & ~ST_STATUS, __ATOMIC_RELEASE);
        return DROP_CT_FULL;
    }
    struct pr_entry *f = &ct->entries[fi], *r = &ct->entries[ri];
    int32_t f_pub = (ct->states[fi] & ~ST_STATUS) | ST_VALID, r_pub = (ct->states[ri] & ~ST_STATUS) | ST_VALID;
    int flags = pkt->key.proto == PROTO_TCP ? flags_for(pkt->tcp_flags) : 0;
    write_key(f, &pkt->key);
    f->dir = DIR_FORWARD;
    f->backend_check = be->check;
    f->partner = ri;
    f->backend_or_partner_state = plan->backend;
    f->a.f.flags = flags;
    f->a.f.expires = (int32_t)(ct->now_ms + lifetime_ms(pkt->key.proto, flags));
    f->b.f.policy_rev = ct->policy_revision;
    f->b.f.frontend_id = frontend_id;
    write_key(r, &plan->reply);
    r->dir = DIR_REPLY;
    r->backend_check = 0;
    r->partner = fi;
    r->backend_or_partner_state = (uint32_t)f_pub;
    r->a.client_mac_slot = client_mac_slot;
    r->b.local_mac = local_mac;
    __atomic_store_n(&ct->states[fi], f_pub, __ATOMIC_RELEASE);
    __atomic_store_n(&ct->states[ri], r_pub, __ATOMIC_RELEASE);
    return 0;
}

// Parses untagged IPv4 without options carrying TCP or UDP; 0 or DROP_MALFORMED.
PR_INLINE int parse(const uint8_t *f, int len, struct pr_packet *p)
{
    enum { L3 = 14, L4 = 34 };
    if (len < L4 + 8)
        return DROP_MALFORMED;
    uint16_t ethertype, fragment;
    memcpy(&ethertype, f + 12, 2);
    memcpy(&fragment, f + L3 + 6, 2);
    if (ethertype != 0x0008 || f[L3] != 0x45 || (fragment & 0xFF3F) != 0)
        return DROP_MALFORMED;
    int total = f[L3 + 2] << 8 | f[L3 + 3];
    if (total > len - L3)
        return DROP_MALFORMED;
    int available = total - 20;
    uint8_t proto = f[L3 + 9];
    p->tcp_flags = 0;
    p->udp_csum_absent = false;
    if (proto == PROTO_TCP) {
        int data_offset = (f[L4 + 12] >> 4) * 4;
        if (available < 20 || data_offset < 20 || data_offset > available)
            return DROP_MALFORMED;
        p->tcp_flags = f[L4 + 13];
        p->l4_csum = L4 + 16;
    } else if (proto == PROTO_UDP) {
        int udp_len = f[L4 + 4] << 8 | f[L4 + 5];
        if (available < 8 || udp_len < 8 || udp_len > available)
            return DROP_MALFORMED;
        p->udp_csum_absent = f[L4 + 6] == 0 && f[L4 + 7] == 0;
        p->l4_csum = L4 + 6;
    } else {
        return DROP_MALFORMED;
    }
    // The key as five 8-byte stores, the words the hash then loads (narrower stores would not
    // forward to those loads): ::ffff:saddr, ::ffff:daddr, ports and protocol.
    uint32_t saddr, daddr, ports;
    memcpy(&saddr, f + L3 + 12, 4);
    memcpy(&daddr, f + L3 + 16, 4);
    memcpy(&ports, f + L4, 4);
    uint64_t words[5] = { 0, 0xFFFF0000ULL | (uint64_t)saddr << 32, 0, 0xFFFF0000ULL | (uint64_t)daddr << 32, ports | (uint64_t)proto << 32 };
    memcpy(&p->key, words, sizeof words);
    p->l3 = L3;
    p->l4 = L4;
    p->ip_end = L3 + total;
    return 0;
}

PR_INLINE uint16_t csum_apply(uint16_t csum, uint32_t delta)
{
    uint32_t s = (uint16_t)~csum + delta;
    s = (s & 0xFFFF) + (s >> 16);
    s = (s & 0xFFFF) + (s >> 16);
    return (uint16_t)~s;
}

PR_INLINE uint32_t words32(uint32_t v) { return (v & 0xFFFF) + (v >> 16); }

// DNAT, IPv4: destination address and port, IPv4 header and TCP/UDP checksums updated incrementally.
PR_INLINE void rewrite_destination(uint8_t *f, struct pr_packet *p, const struct pr_backend *be)
{
    uint32_t old_addr, new_addr;
    memcpy(&old_addr, f + p->l3 + 16, 4);
    memcpy(&new_addr, be->addr + 12, 4);
    uint32_t delta = words32(~old_addr) + words32(new_addr);
    memcpy(f + p->l3 + 16, &new_addr, 4);
    uint16_t ip_csum;
    memcpy(&ip_csum, f + p->l3 + 10, 2);
    ip_csum = csum_apply(ip_csum, delta);
    memcpy(f + p->l3 + 10, &ip_csum, 2);
    uint16_t old_port;
    memcpy(&old_port, f + p->l4 + 2, 2);
    memcpy(f + p->l4 + 2, &be->port, 2);
    uint32_t l4_delta = delta + (uint16_t)~old_port + be->port;
    uint16_t l4_csum;
    memcpy(&l4_csum, f + p->l4_csum, 2);
    if (p->key.proto == PROTO_TCP) {
        l4_csum = csum_apply(l4_csum, l4_delta);
    } else if (!p->udp_csum_absent) {
        l4_csum = csum_apply(l4_csum, l4_delta);
        if (l4_csum == 0) l4_csum = 0xFFFF;
    }
    memcpy(f + p->l4_csum, &l4_csum, 2);
    memcpy(p->key.dst + 12, &new_addr, 4);
    p->key.dport = be->port;
}

PR_INLINE void rewrite_macs(uint8_t *f, uint64_t src, uint64_t dst)
{
    uint64_t first = (dst & 0xFFFFFFFFFFFFULL) | (src << 48);
    uint32_t second = (uint32_t)(src >> 16);
    memcpy(f, &first, 8);
    memcpy(f + 8, &second, 4);
}

PR_INLINE void count_traffic(struct pr_ctx *ct, uint32_t frontend_id, uint32_t backend_id, int len)
{
    ct->frontend_traffic[frontend_id].packets++;
    ct->frontend_traffic[frontend_id].bytes += (uint64_t)len;
    ct->backend_traffic[backend_id].packets++;
    ct->backend_traffic[backend_id].bytes += (uint64_t)len;
    ct->forwarded++;
}

PR_INLINE const struct pr_hop *hop_of(struct pr_ctx *ct, uint32_t backend_id)
{
    struct pr_hop *h = &ct->hops[backend_id];
    if (h->generation != ct->hop_generation) { // filled on first use, as the C# cache is
        h->src_mac = ct->local_mac;
        h->dst_mac = ct->backend_mac;
        h->slot = ct->backend_slot;
        h->generation = ct->hop_generation;
    }
    return h;
}

static void record_event(struct pr_ctx *ct, int kind, int reason, const struct pr_packet *p, int frontend, uint32_t backend_id,
                         const struct pr_backend *be)
{
    struct pr_event *e = &ct->events[ct->event_head & (EVENTS - 1)];
    __atomic_store_n(&e->sequence, -1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    e->time_ms = ct->now_ms;
    memcpy(e->src, p->key.src, 16);
    memcpy(e->dst, p->key.dst, 16);
    memcpy(e->backend, be->addr, 16);
    e->sport = __builtin_bswap16(p->key.sport);
    e->dport = __builtin_bswap16(p->key.dport);
    e->bport = __builtin_bswap16(be->port);
    e->proto = p->key.proto;
    e->kind = (uint8_t)kind;
    e->reason = (uint8_t)reason;
    e->policy_dir = 0;
    e->src_identity = e->dst_identity = 0;
    e->frontend_index = frontend;
    e->backend_id = backend_id;
    __atomic_store_n(&e->sequence, ct->event_head, __ATOMIC_RELEASE);
    __atomic_store_n(&ct->event_head, ct->event_head + 1, __ATOMIC_RELEASE);
}

static uint64_t drop(struct pr_ctx *ct, int reason)
{
    ct->drops[reason]++;
    return (uint64_t)reason << 8 | VERDICT_DROP;
}

PR_INLINE uint64_t forward_result(int slot, int len) { return (uint64_t)len << 32 | (uint64_t)slot << 8 | VERDICT_FORWARD; }

PR_INLINE uint32_t frontend_hash(const uint8_t vip[16], uint16_t port, uint8_t proto)
{
    uint32_t w;
    memcpy(&w, vip + 12, 4);
    return jhash_3words(w, port, proto, 0);
}

PR_INLINE int find_frontend(const struct pr_ctx *ct, const struct pr_key *k)
{
    for (uint32_t s = frontend_hash(k->dst, k->dport, k->proto) & 15;; s = (s + 1) & 15) {
        int stored = ct->frontend_slots[s];
        if (stored == 0)
            return -1;
        const struct pr_frontend *fe = &ct->frontend;
        if (fe->port == k->dport && fe->proto == k->proto && memcmp(fe->vip, k->dst, 16) == 0)
            return stored - 1;
    }
}

static __attribute__((noinline)) void plan_new_flow(struct pr_ctx *ct, const struct pr_packet *p, struct pr_plan *plan)
{
    plan->known = true;
    plan->backend = 0;
    plan->frontend = find_frontend(ct, &p->key);
    if (plan->frontend < 0)
        return;
    const struct pr_frontend *fe = &ct->frontend;
    uint32_t client;
    memcpy(&client, p->key.src + 12, 4);
    uint32_t hash = jhash_3words(client, (uint32_t)p->key.dport << 16 | p->key.sport, p->key.proto, ct->maglev_seed);
    uint32_t slot = (uint32_t)(((unsigned __int128)(fe->modulus * hash) * fe->size) >> 64);
    plan->backend = fe->table[slot];
    const struct pr_backend *be = &ct->backends[plan->backend];
    memcpy(plan->reply.src, be->addr, 16);
    memcpy(plan->reply.dst, p->key.src, 16);
    plan->reply.sport = be->port;
    plan->reply.dport = p->key.sport;
    plan->reply.proto = p->key.proto;
    memset(plan->reply.pad, 0, 3);
    plan->reply_probe = ct_probe(ct, &plan->reply);
    prefetch_states(ct, &plan->reply_probe);
}

static __attribute__((noinline)) uint64_t process_new_flow(struct pr_ctx *ct, uint8_t *f, int len, struct pr_packet *p,
                                                           const struct pr_probe *probe, int ingress_slot, const struct pr_plan *staged)
{
    struct pr_plan own;
    const struct pr_plan *plan = staged;
    if (!staged->known) {
        plan_new_flow(ct, p, &own);
        plan = &own;
    }
    if (plan->frontend < 0)
        return drop(ct, DROP_NO_SERVICE);
    const struct pr_backend *be = &ct->backends[plan->backend];
    if (!be->active)
        return drop(ct, DROP_NO_BACKEND);
    if (ct->pending_count == PENDING)
        return drop(ct, DROP_BACKLOG);
    const struct pr_hop *hop = hop_of(ct, plan->backend);
    uint64_t client_mac = 0, local_mac = 0;
    memcpy(&client_mac, f + 6, 6);
    memcpy(&local_mac, f, 6);
    int reason = create_flow(ct, p, probe, plan, be, client_mac | (uint64_t)(uint16_t)ingress_slot << 48, local_mac, ct->frontend.id);
    if (reason != 0)
        return drop(ct, reason);
    ct->pending[ct->pending_count++] = plan->reply;
    ct->new_flows++;
    record_event(ct, 1, 0, p, plan->frontend, plan->backend, be);
    rewrite_destination(f, p, be);
    rewrite_macs(f, hop->src_mac, hop->dst_mac);
    count_traffic(ct, ct->frontend.id, plan->backend, len);
    return forward_result(hop->slot, len);
}

static __attribute__((noinline)) uint64_t forward_existing(struct pr_ctx *ct, uint8_t *f, int len, struct pr_packet *p,
                                                           const struct pr_flow *flow)
{
    struct pr_entry *e = &ct->entries[flow->index];
    uint32_t backend_id = e->backend_or_partner_state;
    const struct pr_backend *be = &ct->backends[backend_id < ct->backend_count ? backend_id : 0];
    uint16_t check = e->backend_check;
    uint32_t frontend_id = e->b.f.frontend_id;
    int32_t revision = __atomic_load_n(&e->b.f.policy_rev, __ATOMIC_RELAXED);
    if (!be->active || be->check != check)
        return drop(ct, DROP_BACKEND_GONE);
    if (revision != ct->policy_revision)
        return drop(ct, DROP_NO_FLOW); // the reference has no policy to re-check
    // Touch: TCP state bits, expiry, then the seqlock re-check of the State word.
    if (p->key.proto == PROTO_TCP) {
        int add = flags_for(p->tcp_flags);
        int cur = __atomic_load_n(&e->a.f.flags, __ATOMIC_RELAXED);
        if ((cur | add) != cur)
            __atomic_fetch_or(&e->a.f.flags, add, __ATOMIC_SEQ_CST);
    }
    int32_t expires = (int32_t)(ct->now_ms + lifetime_ms(p->key.proto, e->a.f.flags));
    int32_t moved = expires - e->a.f.expires;
    if (moved >= 1000 || moved <= -1000)
        e->a.f.expires = expires;
    __atomic_thread_fence(__ATOMIC_ACQUIRE);
    if (__atomic_load_n(&ct->states[flow->index], __ATOMIC_RELAXED) != flow->state)
        return drop(ct, DROP_NO_FLOW);
    const struct pr_hop *hop = hop_of(ct, backend_id);
    rewrite_destination(f, p, be);
    rewrite_macs(f, hop->src_mac, hop->dst_mac);
    count_traffic(ct, frontend_id, backend_id, len);
    return forward_result(hop->slot, len);
}

PR_INLINE uint64_t dispatch(struct pr_ctx *ct, uint8_t *f, int len, struct pr_packet *p, const struct pr_probe *probe, int slot,
                            const struct pr_plan *plan)
{
    struct pr_flow flow;
    if (ct_lookup(ct, &p->key, probe, &flow))
        return flow.dir == DIR_FORWARD ? forward_existing(ct, f, len, p, &flow) : drop(ct, DROP_NO_FLOW);
    return process_new_flow(ct, f, len, p, probe, slot, plan);
}

// One frame, as PacketPipeline.Process.
static uint64_t process_one(struct pr_ctx *ct, uint8_t *frame, int len, int ingress_slot)
{
    ct->packets++;
    struct pr_packet p;
    int reason = parse(frame, len, &p);
    if (reason != 0)
        return drop(ct, reason);
    struct pr_probe probe = ct_probe(ct, &p.key);
    struct pr_plan none = { .known = false };
    return dispatch(ct, frame, len, &p, &probe, ingress_slot, &none);
}

// A batch, staged ahead as PacketPipeline.ProcessBatch.
PR_EXPORT void pr_process_batch(struct pr_ctx *ct, uint8_t *const *frames, const int *lens, int count, int ingress_slot, uint64_t *results)
{
    ct->packets += (uint64_t)count;
    int parsed = 0, located = 0;
    for (int i = 0; i < count; i++) {
        for (int ahead = i + STAGE_AHEAD < count - 1 ? i + STAGE_AHEAD : count - 1; parsed <= ahead; parsed++) {
            struct pr_staged *s = &ct->staged[parsed & (STAGE_RING - 1)];
            s->reason = parse(frames[parsed], lens[parsed], &s->pkt);
            if (s->reason == 0) {
                s->probe = ct_probe(ct, &s->pkt.key);
                prefetch_states(ct, &s->probe);
            }
        }
        for (int ahead = i + LOCATE_AHEAD < count - 1 ? i + LOCATE_AHEAD : count - 1; located <= ahead; located++) {
            struct pr_staged *s = &ct->staged[located & (STAGE_RING - 1)];
            s->plan.known = false;
            if (s->reason == 0 && !prefetch_entry(ct, &s->probe))
                plan_new_flow(ct, &s->pkt, &s->plan);
        }
        if (i + 1 < count) {
            struct pr_staged *next = &ct->staged[(i + 1) & (STAGE_RING - 1)];
            if (next->plan.known && next->plan.backend != 0)
                prefetch_entry(ct, &next->plan.reply_probe);
        }
        struct pr_staged *s = &ct->staged[i & (STAGE_RING - 1)];
        results[i] = s->reason == 0 ? dispatch(ct, frames[i], lens[i], &s->pkt, &s->probe, ingress_slot, &s->plan) : drop(ct, s->reason);
    }
}

// ---- Set-up and the timed loops the benchmark process calls (one P/Invoke per loop). ----

// backends: count × (16-byte address, raw port); ids are 1..count. table: the Maglev table (ids).
PR_EXPORT struct pr_ctx *pr_create(uint32_t capacity, uint64_t seed, const uint8_t vip[16], uint16_t vip_port, uint8_t proto,
                                   const uint8_t *backend_addrs, const uint16_t *backend_ports, uint32_t count,
                                   const uint32_t *table, uint32_t table_size, uint32_t maglev_seed,
                                   uint64_t local_mac, uint64_t backend_mac, int backend_slot, int single_inserter)
{
    if (capacity < 16 || (capacity & (capacity - 1)) != 0 || table_size == 0)
        return NULL;
    struct pr_ctx *ct = aligned_alloc(64, (sizeof *ct + 63) & ~(size_t)63);
    if (!ct)
        return NULL;
    memset(ct, 0, sizeof *ct);
    ct->entries = aligned_alloc(64, (size_t)capacity * sizeof(struct pr_entry));
    ct->states = aligned_alloc(64, (size_t)capacity * sizeof(int32_t));
    ct->backends = calloc(count + 1, sizeof(struct pr_backend));
    ct->hops = calloc(count + 1, sizeof(struct pr_hop));
    ct->events = aligned_alloc(64, EVENTS * sizeof(struct pr_event));
    ct->frontend_traffic = calloc(2, sizeof(struct pr_count));
    ct->backend_traffic = calloc(count + 1, sizeof(struct pr_count));
    uint32_t *table_copy = malloc(table_size * sizeof(uint32_t));
    if (!ct->entries || !ct->states || !ct->backends || !ct->hops || !ct->events || !ct->frontend_traffic || !ct->backend_traffic || !table_copy)
        return NULL; // the benchmark process exits on NULL; nothing to unwind for
    memset(ct->entries, 0, (size_t)capacity * sizeof(struct pr_entry));
    memset(ct->states, 0, (size_t)capacity * sizeof(int32_t));
    memset(ct->events, 0, EVENTS * sizeof(struct pr_event));
    ct->capacity = capacity;
    ct->bucket_mask = capacity / SLOTS - 1;
    ct->seed = seed;
    ct->single_inserter = single_inserter;
    for (uint32_t i = 0; i < count; i++) {
        struct pr_backend *b = &ct->backends[i + 1];
        memcpy(b->addr, backend_addrs + 16 * i, 16);
        b->port = backend_ports[i];
        b->active = 1;
        b->check = backend_check(b->addr, b->port);
    }
    ct->backend_count = count + 1;
    memcpy(table_copy, table, table_size * sizeof(uint32_t));
    memcpy(ct->frontend.vip, vip, 16);
    ct->frontend.port = vip_port;
    ct->frontend.proto = proto;
    ct->frontend.id = 1;
    ct->frontend.table = table_copy;
    ct->frontend.size = table_size;
    ct->frontend.modulus = UINT64_MAX / table_size + 1;
    ct->frontend_slots[frontend_hash(vip, vip_port, proto) & 15] = 1;
    ct->maglev_seed = maglev_seed;
    ct->hop_generation = 1;
    ct->local_mac = local_mac;
    ct->backend_mac = backend_mac;
    ct->backend_slot = backend_slot;
    ct->policy_revision = 1;
    ct->now_ms = 1000000;
    return ct;
}

PR_EXPORT void pr_destroy(struct pr_ctx *ct)
{
    if (!ct)
        return;
    free(ct->entries);
    free(ct->states);
    free(ct->backends);
    free(ct->hops);
    free(ct->events);
    free(ct->frontend_traffic);
    free(ct->backend_traffic);
    free((void *)ct->frontend.table);
    free(ct);
}

PR_EXPORT void pr_clear(struct pr_ctx *ct)
{
    memset(ct->entries, 0, (size_t)ct->capacity * sizeof(struct pr_entry));
    memset(ct->states, 0, (size_t)ct->capacity * sizeof(int32_t));
    ct->pending_count = 0;
}

PR_EXPORT uint32_t pr_count_entries(const struct pr_ctx *ct)
{
    uint32_t n = 0;
    for (uint32_t i = 0; i < ct->capacity; i++)
        n += (ct->states[i] & ST_STATUS) == ST_VALID;
    return n;
}

PR_EXPORT uint64_t pr_new_flows(const struct pr_ctx *ct) { return ct->new_flows; }

// One frame in place, then the pending reply keys cleared (the worker's per-batch flush).
PR_EXPORT uint64_t pr_run_frame(struct pr_ctx *ct, uint8_t *frame, int len, int ingress_slot)
{
    uint64_t result = process_one(ct, frame, len, ingress_slot);
    ct->pending_count = 0;
    return result;
}

// The one-flow case: per packet, copy the template into the work buffer (its arrival in
// UMEM) and process it. Returns how many were forwarded.
PR_EXPORT int pr_run_one(struct pr_ctx *ct, const uint8_t *tmpl, int len, int iterations, int ingress_slot)
{
    uint8_t work[256] __attribute__((aligned(64)));
    if (len > (int)sizeof work)
        return -1;
    int forwarded = 0;
    for (int i = 0; i < iterations; i++) {
        memcpy(work, tmpl, (size_t)len);
        __asm__ volatile("" : : "r"(work) : "memory"); // the copy is part of every figure, as in the C# harness
        forwarded += (int)(process_one(ct, work, len, ingress_slot) & 0xFF) == VERDICT_FORWARD;
        ct->pending_count = 0;
    }
    return forwarded;
}

// Batches of <batch> frames from <count> templates (stride bytes apart): copy each into a batch
// buffer, process the batch, clear the pending reply keys (the worker's flush). Returns how many were forwarded.
PR_EXPORT int pr_run_batches(struct pr_ctx *ct, const uint8_t *tmpls, int stride, const int *lens, int count, int batch, int ingress_slot)
{
    static uint8_t buffers[MAX_BATCH][256] __attribute__((aligned(64)));
    uint8_t *frames[MAX_BATCH];
    uint64_t results[MAX_BATCH];
    if (batch > MAX_BATCH || stride > 256)
        return -1;
    for (int i = 0; i < batch; i++)
        frames[i] = buffers[i];
    int forwarded = 0;
    for (int first = 0; first < count; first += batch) {
        int n = count - first < batch ? count - first : batch;
        for (int i = 0; i < n; i++)
            memcpy(buffers[i], tmpls + (size_t)(first + i) * stride, (size_t)lens[first + i]);
        pr_process_batch(ct, frames, lens + first, n, ingress_slot, results);
        for (int i = 0; i < n; i++)
            forwarded += (int)(results[i] & 0xFF) == VERDICT_FORWARD;
        ct->pending_count = 0;
    }
    return forwarded;
}
