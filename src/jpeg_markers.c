/*
 * jpeg_markers.c — the JPEG marker stream (ITU-T T.81 annex B): SOI, SOFn, DHT, DQT, DRI, SOS,
 * APPn (JFIF, Adobe, Exif), COM and EOI. Every segment length must fit the file and match its
 * content exactly; every table index, component id, sampling factor and scan parameter is
 * checked here, so the scan decoder can trust the state. Unsupported coding processes
 * (arithmetic, lossless, hierarchical, 12-bit, CMYK) are refused with FE_E_UNSUPPORTED.
 */
#include "jpeg.h"

#include <string.h>

static uint32_t rd16(const uint8_t *p) { return (uint32_t)p[0] << 8 | p[1]; }

const uint8_t fe__jpeg_zigzag[64] = {
     0,  1,  8, 16,  9,  2,  3, 10, 17, 24, 32, 25, 18, 11,  4,  5,
    12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13,  6,  7, 14, 21, 28,
    35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51,
    58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
};

/* Names the coding processes we refuse, for the message. */
static const char *unsupported_sof(int m) {
    switch (m) {
    case 0xC3: return "lossless (SOF3)";
    case 0xC5: return "hierarchical differential sequential (SOF5)";
    case 0xC6: return "hierarchical differential progressive (SOF6)";
    case 0xC7: return "hierarchical differential lossless (SOF7)";
    case 0xC8: return "reserved JPG extension (SOF8)";
    case 0xC9: return "arithmetic-coded extended sequential (SOF9)";
    case 0xCA: return "arithmetic-coded progressive (SOF10)";
    case 0xCB: return "arithmetic-coded lossless (SOF11)";
    case 0xCD: return "arithmetic-coded hierarchical sequential (SOF13)";
    case 0xCE: return "arithmetic-coded hierarchical progressive (SOF14)";
    case 0xCF: return "arithmetic-coded hierarchical lossless (SOF15)";
    default: return NULL;
    }
}

static fe_status parse_sof(fe__jpeg *d, int marker, const uint8_t *p, size_t len, size_t at) {
    if (d->have_sof) return fe__fail(FE_E_CORRUPT, "second frame header (SOF) at byte %zu", at);
    if (len < 6) return fe__fail(FE_E_CORRUPT, "SOF segment of %zu bytes is too short", len);
    int precision = p[0];
    uint32_t height = rd16(p + 1), width = rd16(p + 3);
    int nf = p[5];
    if (precision != 8)
        return fe__fail(FE_E_UNSUPPORTED, "%d-bit JPEG samples are not supported (only 8-bit)",
                        precision);
    if (nf == 4)
        return fe__fail(FE_E_UNSUPPORTED, "4-component (CMYK/YCCK) JPEG is not supported");
    if (nf == 0) return fe__fail(FE_E_CORRUPT, "SOF declares no components");
    if (nf != 1 && nf != 3)
        return fe__fail(FE_E_UNSUPPORTED, "%d-component JPEG is not supported (1 or 3)", nf);
    if (len != 6 + 3 * (size_t)nf)
        return fe__fail(FE_E_CORRUPT, "SOF length %zu does not match %d components", len + 2, nf);
    if (height == 0)
        return fe__fail(FE_E_UNSUPPORTED, "height 0 (defined later by a DNL marker) is not supported");
    fe_status st = fe__image_check_dims(width, height, (uint32_t)nf);
    if (st != FE_OK) return st;
    d->have_sof = 1;
    d->progressive = marker == 0xC2;
    d->width = width;
    d->height = height;
    d->ncomp = nf;
    d->hmax = d->vmax = 1;
    for (int i = 0; i < nf; i++) {
        const uint8_t *c = p + 6 + 3 * i;
        fe__jpeg_comp *cp = &d->comp[i];
        cp->id = c[0];
        cp->h = (uint8_t)(c[1] >> 4);
        cp->v = (uint8_t)(c[1] & 15);
        cp->tq = c[2];
        if (cp->h < 1 || cp->h > 4 || cp->v < 1 || cp->v > 4)
            return fe__fail(FE_E_CORRUPT, "component %d has sampling factors %dx%d (1..4 allowed)",
                            cp->id, cp->h, cp->v);
        if (cp->tq > 3)
            return fe__fail(FE_E_RANGE, "component %d uses quantization table %d (0..3)", cp->id, cp->tq);
        for (int j = 0; j < i; j++)
            if (d->comp[j].id == cp->id)
                return fe__fail(FE_E_DUPLICATE, "component id %d appears twice in SOF", cp->id);
        if (cp->h > d->hmax) d->hmax = cp->h;
        if (cp->v > d->vmax) d->vmax = cp->v;
        memset(cp->coef_bits, -1, sizeof cp->coef_bits);
    }
    if (nf == 1) {
        /* a single component is never interleaved: its MCU is one block whatever H/V say */
        d->comp[0].h = d->comp[0].v = 1;
        d->hmax = d->vmax = 1;
    }
    for (int i = 0; i < nf; i++) {
        fe__jpeg_comp *cp = &d->comp[i];
        if (d->hmax % cp->h || d->vmax % cp->v)
            return fe__fail(FE_E_UNSUPPORTED,
                            "component %d: sampling %dx%d against %dx%d is a fractional ratio",
                            cp->id, cp->h, cp->v, d->hmax, d->vmax);
    }
    d->mcux = (width + 8u * (uint32_t)d->hmax - 1) / (8u * (uint32_t)d->hmax);
    d->mcuy = (height + 8u * (uint32_t)d->vmax - 1) / (8u * (uint32_t)d->vmax);
    for (int i = 0; i < nf; i++) {
        fe__jpeg_comp *cp = &d->comp[i];
        cp->wd = (width * cp->h + (uint32_t)d->hmax - 1) / (uint32_t)d->hmax;
        cp->hd = (height * cp->v + (uint32_t)d->vmax - 1) / (uint32_t)d->vmax;
        cp->bw = d->mcux * cp->h;
        cp->bh = d->mcuy * cp->v;
        cp->bw_used = (cp->wd + 7) / 8;
        cp->bh_used = (cp->hd + 7) / 8;
        cp->stride = (size_t)cp->bw * 8;
    }
    return FE_OK;
}

static fe_status parse_dqt(fe__jpeg *d, const uint8_t *p, size_t len) {
    size_t i = 0;
    if (len == 0) return fe__fail(FE_E_CORRUPT, "empty DQT segment");
    while (i < len) {
        int pq = p[i] >> 4, tq = p[i] & 15;
        i++;
        if (pq > 1) return fe__fail(FE_E_CORRUPT, "DQT precision %d (0 or 1 allowed)", pq);
        if (tq > 3) return fe__fail(FE_E_RANGE, "DQT table index %d (0..3)", tq);
        size_t need = pq ? 128 : 64;
        if (len - i < need)
            return fe__fail(FE_E_CORRUPT, "DQT table %d needs %zu bytes, segment has %zu", tq, need, len - i);
        for (int k = 0; k < 64; k++)
            d->qt[tq][k] = (uint16_t)(pq ? rd16(p + i + 2 * (size_t)k) : p[i + (size_t)k]);
        d->qt_defined[tq] = 1;
        i += need;
    }
    return FE_OK;
}

static fe_status parse_dht(fe__jpeg *d, const uint8_t *p, size_t len) {
    size_t i = 0;
    if (len == 0) return fe__fail(FE_E_CORRUPT, "empty DHT segment");
    while (i < len) {
        if (len - i < 17)
            return fe__fail(FE_E_CORRUPT, "DHT segment ends inside a table header");
        int tc = p[i] >> 4, th = p[i] & 15;
        if (tc > 1) return fe__fail(FE_E_CORRUPT, "DHT table class %d (0 or 1 allowed)", tc);
        if (th > 3) return fe__fail(FE_E_RANGE, "DHT table index %d (0..3)", th);
        const uint8_t *counts = p + i + 1;
        int total = 0;
        for (int l = 0; l < 16; l++) total += counts[l];
        i += 17;
        if (total > 256 || (size_t)total > len - i)
            return fe__fail(FE_E_COUNT, "DHT %s table %d declares %d codes, segment holds %zu",
                            tc ? "AC" : "DC", th, total, len - i);
        const uint8_t *vals = p + i;
        if (tc == 0)
            for (int k = 0; k < total; k++)
                if (vals[k] > 15)
                    return fe__fail(FE_E_CORRUPT, "DHT DC table %d has symbol %d (0..15)", th, vals[k]);
        fe_status st = fe__jpeg_huff_build(tc ? &d->ac[th] : &d->dc[th], counts, vals, total, tc);
        if (st != FE_OK) return st;
        i += (size_t)total;
    }
    return FE_OK;
}

/* Checks a progressive scan against T.81 G.1.1.1 and the coefficients already sent. */
static fe_status check_progression(fe__jpeg *d) {
    int ss = d->ss, se = d->se, ah = d->ah, al = d->al;
    if (ss == 0 && se != 0)
        return fe__fail(FE_E_CORRUPT, "progressive DC scan with Se=%d (must be 0)", se);
    if (ss > 0 && (se < ss || se > 63))
        return fe__fail(FE_E_CORRUPT, "progressive AC scan with Ss=%d Se=%d", ss, se);
    if (ss > 0 && d->ns != 1)
        return fe__fail(FE_E_CORRUPT, "progressive AC scan with %d components (must be 1)", d->ns);
    if (al > 13 || ah > 13)
        return fe__fail(FE_E_CORRUPT, "successive approximation Ah=%d Al=%d (at most 13)", ah, al);
    if (ah != 0 && al != ah - 1)
        return fe__fail(FE_E_CORRUPT, "refinement scan with Ah=%d Al=%d (Al must be Ah-1)", ah, al);
    for (int s = 0; s < d->ns; s++) {
        fe__jpeg_comp *c = &d->comp[d->sc[s]];
        if (ss > 0 && c->coef_bits[0] < 0)
            return fe__fail(FE_E_CORRUPT, "AC scan of component %d before its DC scan", c->id);
        for (int k = ss; k <= se; k++) {
            int expect = ah == 0 ? -1 : ah;
            if (c->coef_bits[k] != expect) {
                if (ah == 0)
                    return fe__fail(FE_E_CORRUPT, "coefficient %d of component %d sent twice", k, c->id);
                return fe__fail(FE_E_CORRUPT,
                                "refinement of coefficient %d of component %d with Ah=%d, but it "
                                "was last sent with Al=%d", k, c->id, ah, c->coef_bits[k]);
            }
        }
    }
    for (int s = 0; s < d->ns; s++)
        for (int k = ss; k <= se; k++) d->comp[d->sc[s]].coef_bits[k] = (int8_t)al;
    return FE_OK;
}

static fe_status parse_sos(fe__jpeg *d, const uint8_t *p, size_t len, size_t at) {
    if (!d->have_sof) return fe__fail(FE_E_CORRUPT, "scan header (SOS) before the frame header at byte %zu", at);
    if (len < 1) return fe__fail(FE_E_CORRUPT, "empty SOS segment");
    int ns = p[0];
    if (ns < 1 || ns > d->ncomp)
        return fe__fail(FE_E_CORRUPT, "scan has %d components, frame has %d", ns, d->ncomp);
    if (len != 4 + 2 * (size_t)ns)
        return fe__fail(FE_E_CORRUPT, "SOS length %zu does not match %d components", len + 2, ns);
    if (++d->n_scans > FE__JPEG_MAX_SCANS)
        return fe__fail(FE_E_LIMIT, "more than %d scans", FE__JPEG_MAX_SCANS);
    d->ns = ns;
    for (int s = 0; s < ns; s++) {
        int id = p[1 + 2 * s], tables = p[2 + 2 * s];
        int ci = -1;
        for (int i = 0; i < d->ncomp; i++)
            if (d->comp[i].id == id) ci = i;
        if (ci < 0) return fe__fail(FE_E_NOT_FOUND, "scan names component %d, not in the frame", id);
        for (int j = 0; j < s; j++)
            if (d->sc[j] == ci) return fe__fail(FE_E_DUPLICATE, "component %d appears twice in a scan", id);
        d->sc[s] = ci;
        d->comp[ci].td = (uint8_t)(tables >> 4);
        d->comp[ci].ta = (uint8_t)(tables & 15);
        if (d->comp[ci].td > 3 || d->comp[ci].ta > 3)
            return fe__fail(FE_E_RANGE, "component %d selects Huffman tables %d/%d (0..3)", id,
                            d->comp[ci].td, d->comp[ci].ta);
    }
    const uint8_t *q = p + 1 + 2 * ns;
    d->ss = q[0];
    d->se = q[1];
    d->ah = q[2] >> 4;
    d->al = q[2] & 15;
    d->eobrun = 0;
    if (ns > 1) {
        int blocks = 0;
        for (int s = 0; s < ns; s++) blocks += d->comp[d->sc[s]].h * d->comp[d->sc[s]].v;
        if (blocks > 10)
            return fe__fail(FE_E_CORRUPT, "interleaved MCU of %d blocks (at most 10)", blocks);
    }
    fe_status st;
    if (d->progressive) {
        if ((st = check_progression(d)) != FE_OK) return st;
    } else {
        if (d->ss != 0 || d->se != 63 || d->ah != 0 || d->al != 0)
            return fe__fail(FE_E_CORRUPT, "sequential scan with Ss=%d Se=%d Ah=%d Al=%d (0,63,0,0)",
                            d->ss, d->se, d->ah, d->al);
        for (int s = 0; s < ns; s++)
            if (d->comp[d->sc[s]].done)
                return fe__fail(FE_E_CORRUPT, "component %d is coded in two scans", d->comp[d->sc[s]].id);
    }
    for (int s = 0; s < ns; s++) {
        fe__jpeg_comp *c = &d->comp[d->sc[s]];
        int need_dc = d->ss == 0 && d->ah == 0, need_ac = d->se > 0;
        if (need_dc && !d->dc[c->td].defined)
            return fe__fail(FE_E_NOT_FOUND, "component %d uses DC Huffman table %d, never defined", c->id, c->td);
        if (need_ac && !d->ac[c->ta].defined)
            return fe__fail(FE_E_NOT_FOUND, "component %d uses AC Huffman table %d, never defined", c->id, c->ta);
        if (!c->q_latched) {
            /* like libjpeg, the table in force at the component's first scan is the one used */
            if (!d->qt_defined[c->tq])
                return fe__fail(FE_E_NOT_FOUND, "component %d uses quantization table %d, never defined",
                                c->id, c->tq);
            memcpy(c->q, d->qt[c->tq], sizeof c->q);
            c->q_latched = 1;
        }
    }
    return FE_OK;
}

static fe_status parse_app(fe__jpeg *d, int marker, const uint8_t *p, size_t len) {
    if (marker == 0xE0 && len >= 5 && memcmp(p, "JFIF\0", 5) == 0) d->jfif = 1;
    if (marker == 0xEE && len >= 12 && memcmp(p, "Adobe", 5) == 0) {
        d->adobe = 1;
        d->adobe_transform = p[11];
    }
    if (marker == 0xE1 && !d->orientation && len >= 6 && memcmp(p, "Exif\0\0", 6) == 0)
        d->orientation = fe__jpeg_exif_orientation(p, len);
    return FE_OK;
}

fe_status fe__jpeg_next_scan(fe__jpeg *d, int *at_eoi) {
    const uint8_t *data = d->data;
    size_t n = d->size;
    *at_eoi = 0;
    for (;;) {
        size_t at = d->pos;
        if (at >= n)
            return fe__fail(FE_E_TRUNCATED, "file ends at byte %zu without an EOI marker", at);
        if (data[at] != 0xFF)
            return fe__fail(FE_E_CORRUPT, "expected a marker at byte %zu, found 0x%02x", at, data[at]);
        while (at < n && data[at] == 0xFF) at++;  /* fill bytes may precede a marker */
        if (at >= n) return fe__fail(FE_E_TRUNCATED, "file ends inside a marker at byte %zu", at);
        int m = data[at++];
        d->pos = at;
        if (m == 0xD9) {
            *at_eoi = 1;
            return FE_OK;
        }
        if (m == 0x00) return fe__fail(FE_E_CORRUPT, "stuffed byte 0xFF00 outside entropy data at byte %zu", at - 2);
        if (m == 0xD8) return fe__fail(FE_E_CORRUPT, "second SOI marker at byte %zu", at - 2);
        if ((m >= 0xD0 && m <= 0xD7) || m == 0x01) continue;  /* RSTn / TEM carry no data */
        const char *why = unsupported_sof(m);
        if (why) return fe__fail(FE_E_UNSUPPORTED, "%s JPEG is not supported", why);
        if (m == 0xCC) return fe__fail(FE_E_UNSUPPORTED, "arithmetic coding (DAC marker) is not supported");
        if (m == 0xDE || m == 0xDF)
            return fe__fail(FE_E_UNSUPPORTED, "hierarchical JPEG (%s marker) is not supported",
                            m == 0xDE ? "DHP" : "EXP");
        if (m >= 0xF0 && m <= 0xFD)
            return fe__fail(FE_E_UNSUPPORTED, "JPEG extension marker 0xFF%02X (e.g. JPEG-LS) is not supported", m);
        if (n - at < 2) return fe__fail(FE_E_TRUNCATED, "file ends inside the length of marker 0xFF%02X", m);
        size_t seglen = rd16(data + at);
        if (seglen < 2) return fe__fail(FE_E_CORRUPT, "marker 0xFF%02X has length %zu (< 2)", m, seglen);
        if (seglen > n - at)
            return fe__fail(FE_E_TRUNCATED, "marker 0xFF%02X at byte %zu declares %zu bytes, %zu remain",
                            m, at - 2, seglen, n - at);
        const uint8_t *p = data + at + 2;
        size_t len = seglen - 2;
        d->pos = at + seglen;
        fe_status st = FE_OK;
        switch (m) {
        case 0xC0: case 0xC1: case 0xC2: st = parse_sof(d, m, p, len, at - 2); break;
        case 0xC4: st = parse_dht(d, p, len); break;
        case 0xDB: st = parse_dqt(d, p, len); break;
        case 0xDD:
            if (len != 2) return fe__fail(FE_E_CORRUPT, "DRI length %zu (must be 4)", seglen);
            d->restart_interval = rd16(p);
            break;
        case 0xDA: return parse_sos(d, p, len, at - 2);
        default:
            if (m >= 0xE0 && m <= 0xEF) st = parse_app(d, m, p, len);
            /* COM, DNL and anything else with a length: skipped */
            break;
        }
        if (st != FE_OK) return st;
    }
}

fe_status fe__jpeg_read_headers(fe__jpeg *d, const uint8_t *data, size_t n) {
    memset(d, 0, sizeof *d);
    d->data = data;
    d->size = n;
    if (n < 2 || data[0] != 0xFF || data[1] != 0xD8) return fe__fail(FE_E_MAGIC, "no JPEG SOI marker");
    d->pos = 2;
    int eoi;
    fe_status st = fe__jpeg_next_scan(d, &eoi);
    if (st != FE_OK) return st;
    if (eoi)
        return fe__fail(FE_E_TRUNCATED, "EOI before any %s", d->have_sof ? "scan" : "frame header");
    if (d->orientation == 0) d->orientation = 1;
    d->rgb = fe__jpeg_is_rgb(d);
    return FE_OK;
}

int fe__jpeg_is_rgb(const fe__jpeg *d) {
    if (d->ncomp != 3) return 0;
    if (d->jfif) return 0;
    if (d->adobe) return d->adobe_transform == 0;
    return d->comp[0].id == 'R' && d->comp[1].id == 'G' && d->comp[2].id == 'B';
}
