/*
 * test_html.c — the HTML report writer (html.c, base64.c) and the reports built on it:
 * base64 against RFC 4648's test vectors and an independent decoder, escaping (a label
 * "<script>alert(1)</script>" is text, never markup), PNG data URIs that decode with the
 * project's own PNG reader back to the same pixels, the page skeleton (viewport, no scripts,
 * nothing external), sticky allocation failures and the atomic save; then `query --html` on a
 * gallery with hostile labels and paths, `demo --html` (every inline image decodes, card
 * counts), `eval --html` (tables per kind, examples, escaping, images), and a real browser: headless Chromium opens the query report from a file:// URL
 * and reports, from a check script added to a test copy of the page, how many images decoded
 * (naturalWidth > 0), how many result cards and scripts there are, whether the page fits a
 * phone-width window, and whether the hostile label shows as text. Screenshots of the report
 * (desktop and phone width) are kept under build/test-artifacts/. Chromium missing: SKIP.
 */
#define _POSIX_C_SOURCE 200809L
#include "test.h"
#include "base64.h"
#include "html.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HOSTILE "<script>alert(1)</script>"

/* ---- an independent base64 decoder (test side) ------------------------------------------ */

static int b64_val(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* Decodes n characters (a multiple of 4, '=' padding only at the end); NULL if malformed. */
static uint8_t *b64_decode(const char *s, size_t n, size_t *out_n) {
    if (n % 4) return NULL;
    uint8_t *out = malloc(n / 4 * 3 + 1);
    size_t k = 0;
    for (size_t i = 0; out && i < n; i += 4) {
        int v[4], pad = 0;
        for (int j = 0; j < 4; j++) {
            if (s[i + j] == '=' && i + 4 == n && j >= 2) { v[j] = 0; pad++; continue; }
            if (pad || (v[j] = b64_val(s[i + j])) < 0) { free(out); return NULL; }
        }
        uint32_t w = ((uint32_t)v[0] << 18) | ((uint32_t)v[1] << 12) | ((uint32_t)v[2] << 6) | (uint32_t)v[3];
        out[k++] = (uint8_t)(w >> 16);
        if (pad < 2) out[k++] = (uint8_t)(w >> 8);
        if (pad < 1) out[k++] = (uint8_t)w;
    }
    *out_n = k;
    return out;
}

FE_TEST(html_base64_rfc4648) {
    static const char *const plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const coded[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    char buf[64];
    for (int i = 0; i < 7; i++) {
        size_t n = strlen(plain[i]);
        int ok;
        CHECK(fe__base64_len(n, &ok) == strlen(coded[i]) && ok);
        size_t len = fe__base64_encode((const uint8_t *)plain[i], n, buf);
        CHECK_MSG(len == strlen(coded[i]) && !strcmp(buf, coded[i]), "\"%s\" -> \"%s\", expected \"%s\"", plain[i],
                  buf, coded[i]);
    }
    /* every byte value and every tail length round-trips through the independent decoder */
    uint8_t all[258];
    for (int i = 0; i < 258; i++) all[i] = (uint8_t)(i * 37 + 11);
    for (int i = 0; i < 256; i++) all[i] = (uint8_t)i;
    char *enc = malloc(400);
    CHECK(enc);
    for (size_t n = 256; n <= 258; n++) {
        size_t len = fe__base64_encode(all, n, enc), dn = 0;
        uint8_t *dec = b64_decode(enc, len, &dn);
        CHECK_MSG(dec && dn == n && !memcmp(dec, all, n), "round trip of %zu bytes failed", n);
        free(dec);
    }
    /* negative control: the decoder rejects a corrupted encoding */
    size_t dn;
    CHECK(b64_decode("Zm9v*g==", 8, &dn) == NULL);
    int ok = 1;
    (void)fe__base64_len(SIZE_MAX, &ok);
    CHECK(!ok);
    free(enc);
}

FE_TEST(html_escaping) {
    fe__html h;
    fe__html_init(&h);
    fe__html_text(&h, HOSTILE);
    CHECK_MSG(!strcmp(h.buf, "&lt;script&gt;alert(1)&lt;/script&gt;"), "got %s", h.buf);
    h.len = 0;
    fe__html_text(&h, "a&b \"q\" 'x' \x01\x7f\ttab\nnl caf\xc3\xa9");
    CHECK_MSG(!strcmp(h.buf, "a&amp;b &quot;q&quot; &#39;x&#39; &#xFFFD;&#xFFFD;\ttab\nnl caf\xc3\xa9"), "got %s", h.buf);
    h.len = 0;
    fe__html_textf(&h, "%d. %s", 3, HOSTILE);
    CHECK_MSG(!strcmp(h.buf, "3. &lt;script&gt;alert(1)&lt;/script&gt;"), "got %s", h.buf);
    h.len = 0;
    fe__html_elem(&h, "td", "num", "x\"><img src=x onerror=alert(2)>");
    CHECK_MSG(!strcmp(h.buf, "<td class=\"num\">x&quot;&gt;&lt;img src=x onerror=alert(2)&gt;</td>"), "got %s", h.buf);
    /* a table: labels escaped, numbers right-aligned */
    h.len = 0;
    const char *head[2] = {"identity", "score"}, *row[2] = {HOSTILE, "0.912"};
    fe__html_table_begin(&h, "<caption>", head, 2);
    fe__html_table_row(&h, row, 2, "good");
    fe__html_table_end(&h);
    CHECK_MSG(strstr(h.buf, "<td>&lt;script&gt;alert(1)&lt;/script&gt;</td><td class=\"num\">0.912</td>") &&
              strstr(h.buf, "<tr class=\"good\">") && strstr(h.buf, "&lt;caption&gt;") && !strstr(h.buf, "<script"),
              "got %s", h.buf);
    /* negative control: raw markup is not escaped (so the check above can fail) */
    h.len = 0;
    fe__html_raw(&h, HOSTILE);
    CHECK(strstr(h.buf, "<script") != NULL);
    CHECK_OK(fe__html_status(&h));
    fe__html_free(&h);
}

/* Finds the n-th data URI (0-based) in page and decodes it with the project's PNG reader. */
static fe_status decode_data_uri(const char *page, size_t nth, fe_image **out) {
    const char *p = page;
    static const char tag[] = "data:image/png;base64,";
    for (size_t k = 0;; k++) {
        p = strstr(p, tag);
        if (!p) return FE_E_NOT_FOUND;
        p += sizeof tag - 1;
        if (k == nth) break;
    }
    size_t len = strcspn(p, "\""), n = 0;
    uint8_t *png = b64_decode(p, len, &n);
    if (!png) return FE_E_CORRUPT;
    fe_status st = fe_image_decode(png, n, out);
    free(png);
    return st;
}

static size_t count(const char *s, const char *needle) {
    size_t n = 0;
    for (const char *p = s; (p = strstr(p, needle)) != NULL; p += strlen(needle)) n++;
    return n;
}

FE_TEST(html_page_and_data_uri) {
    fe_image *img = NULL, *back = NULL;
    CHECK_OK(fe_image_create(37, 23, 3, &img));
    for (size_t k = 0; k < 37 * 23 * 3; k++) img->data[k] = (uint8_t)(k * 7 + (k >> 5));
    fe__html h;
    fe__html_init(&h);
    fe__html_page_begin(&h, HOSTILE, "sub & title");
    fe__html_section_begin(&h, "results", "sec\"1");
    fe__html_cards_begin(&h);
    fe__html_card_begin(&h, HOSTILE, "result");
    fe__html_img(&h, img, HOSTILE, NULL);
    fe__html_card_end(&h);
    fe__html_cards_end(&h);
    fe__html_cols_begin(&h);
    fe__html_col_begin(&h, "a");
    fe__html_figure(&h, img, "alt", "caption <b>", "px");
    fe__html_col_end(&h);
    fe__html_cols_end(&h);
    fe__html_section_end(&h);
    fe__html_page_end(&h, "footer");
    CHECK_OK(fe__html_status(&h));
    const char *s = h.buf;
    CHECK(!strncmp(s, "<!doctype html>", 15));
    CHECK(strstr(s, "<meta charset=\"utf-8\">") && strstr(s, "name=\"viewport\""));
    CHECK_MSG(!strstr(s, "<script") && !strstr(s, "http://") && !strstr(s, "https://") && !strstr(s, "@import") &&
              !strstr(s, "url("), "the page has a script or an external reference");
    CHECK(strstr(s, "<title>&lt;script&gt;alert(1)&lt;/script&gt;</title>"));
    CHECK(strstr(s, "id=\"sec&quot;1\"") && strstr(s, "caption &lt;b&gt;"));
    CHECK(count(s, "data:image/png;base64,") == 2 && count(s, "width=\"37\" height=\"23\"") == 2);
    CHECK(strstr(s, "</html>\n") && s[h.len] == 0 && strlen(s) == h.len);
    for (size_t k = 0; k < 2; k++) {
        CHECK_OK(decode_data_uri(s, k, &back));
        CHECK_MSG(back->width == 37 && back->height == 23 && back->channels == 3 &&
                  !memcmp(back->data, img->data, 37 * 23 * 3), "data URI %zu decodes to other pixels", k);
        fe_image_free(back);
        back = NULL;
    }
    /* atomic save: the file is the buffer; a failed buffer writes nothing */
    char path[700];
    snprintf(path, sizeof path, "%s/page.html", fe_t_tmpdir());
    CHECK_OK(fe__html_save(&h, path));
    size_t n = 0;
    char *file = fe_t_read_file(path, &n);
    CHECK(file && n == h.len && !memcmp(file, h.buf, n));
    free(file);
    fe__html_free(&h);
    /* sticky failures: every allocation failure gives FE_E_NOMEM and leaves the old file */
    int done = 0;
    for (long k = 0; k < 40 && !done; k++) {
        fe__html_init(&h);
        fe__alloc_fail_after(k);
        fe__html_page_begin(&h, "t", NULL);
        fe__html_img(&h, img, "a", NULL);
        fe__html_page_end(&h, "f");
        fe__alloc_fail_after(-1);
        if (fe__html_status(&h) == FE_OK) done = 1;
        else {
            CHECK_STATUS(fe__html_save(&h, path), FE_E_NOMEM);
            file = fe_t_read_file(path, &n);
            CHECK_MSG(file && strstr(file, "sec&quot;1"), "a failed save touched the old file");
            free(file);
        }
        fe__html_free(&h);
    }
    CHECK(done);
    fe_image_free(img);
}

/* ---- the reports ----------------------------------------------------------------------- */

/* A gallery of 8 demo faces (4 David_Wells, 4 others) where two David_Wells faces are labelled
 * HOSTILE, one with an attribute-breaking path, and Roger Federer's label has markup; paths are relative to tests/data/demo/gallery
 * except the hostile one, whose chip then shows the placeholder. */
static const char *hostile_gallery(fe_test *t) {
    static char path[700];
    snprintf(path, sizeof path, "%s/hostile.fei", fe_t_tmpdir());
    static const char *const files[8][3] = {
        {"David_Wells/David_Wells_0001.jpg", "David_Wells", NULL},
        {"David_Wells/David_Wells_0002.jpg", HOSTILE, "x\"><img src=x onerror=alert(2)>.jpg"},
        {"David_Wells/David_Wells_0003.jpg", "David_Wells", NULL},
        {"David_Wells/David_Wells_0005.jpg", HOSTILE, NULL},
        {"Steve_Nash/Steve_Nash_0002.jpg", "Steve_Nash", NULL},
        {"Steve_Nash/Steve_Nash_0003.jpg", "Steve_Nash", NULL},
        {"Roger_Federer/Roger_Federer_0002.jpg", "Roger & <b>Federer</b>", NULL},
        {"Sylvester_Stallone/Sylvester_Stallone_0005.jpg", "Sylvester_Stallone", NULL}};
    fe_model *m = NULL;
    fe_session *s = NULL;
    fe_gallery *g = NULL;
    fe_landmark_list *lm = NULL;
    fe_features *f = malloc(sizeof *f);
    fe_status st = fe_model_open("weights/faceres.feb", NULL, &m);
    if (st == FE_OK) st = fe_session_create(m, &s);
    if (st == FE_OK) st = fe_landmark_list_load(FE_T_DEMO_LM, &lm);
    if (st == FE_OK) st = fe_gallery_create(NULL, &g);
    if (st == FE_OK) st = fe_gallery_meta_add(g, "source", FE_T_DEMO "/gallery");
    for (int i = 0; st == FE_OK && i < 8; i++) {
        char img_path[300];
        snprintf(img_path, sizeof img_path, "%s/gallery/%s", FE_T_DEMO, files[i][0]);
        fe_image *img = NULL, *chip = NULL;
        fe_landmarks l;
        st = fe_image_load(img_path, &img);
        if (st == FE_OK) st = fe_landmark_list_find(lm, img_path, &l, NULL);
        if (st == FE_OK) st = fe_align_chip(img, &l, &chip);
        if (st == FE_OK) st = fe_embed(s, chip->data, f);
        if (st == FE_OK) st = fe_gallery_add(g, files[i][1], files[i][2] ? files[i][2] : files[i][0], f);
        fe_image_free(img);
        fe_image_free(chip);
    }
    if (st == FE_OK) st = fe_gallery_save(g, path);
    if (st != FE_OK) fe_t_fail(t, __FILE__, __LINE__, "building the gallery: %s: %s", fe_status_name(st), fe_last_error());
    free(f);
    fe_gallery_free(g);
    fe_landmark_list_free(lm);
    fe_session_destroy(s);
    fe_model_close(m);
    return st == FE_OK ? path : NULL;
}

/* Checks that every data URI of page decodes with the project's reader; returns the count. */
static size_t check_images(fe_test *t, const char *page) {
    size_t n = count(page, "data:image/png;base64,");
    for (size_t k = 0; k < n; k++) {
        fe_image *img = NULL;
        fe_status st = decode_data_uri(page, k, &img);
        if (st != FE_OK || img->width == 0) {
            fe_t_fail(t, __FILE__, __LINE__, "inline image %zu of %zu does not decode: %s", k, n, fe_status_name(st));
            fe_image_free(img);
            return 0;
        }
        fe_image_free(img);
    }
    return n;
}

static char *query_report(fe_test *t, char *html_path, size_t cap) {
    const char *g = hostile_gallery(t);
    if (!g) return NULL;
    snprintf(html_path, cap, "%s/report.html", fe_t_tmpdir());
    char out[16384];
    int rc = fe_t_run(out, sizeof out, "%s query '%s' %s/query/David_Wells/David_Wells_0004.jpg --landmarks %s "
                      "--html '%s' 2>&1", fe_t_cli(), g, FE_T_DEMO, FE_T_DEMO_LM, html_path);
    if (rc != 0) {
        fe_t_fail(t, __FILE__, __LINE__, "query --html: exit %d: %s", rc, out);
        return NULL;
    }
    size_t n;
    char *page = fe_t_read_file(html_path, &n);
    if (!page) fe_t_fail(t, __FILE__, __LINE__, "no report at %s", html_path);
    return page;
}

FE_TEST(html_query_report_escapes_labels) {
    if (!fe_t_have_demo(t)) return;
    char path[700];
    char *page = query_report(t, path, sizeof path);
    if (!page) return;
    CHECK_MSG(strstr(page, "&lt;script&gt;alert(1)&lt;/script&gt;"), "the hostile label is missing");
    CHECK_MSG(!strstr(page, "<script"), "a raw <script> reached the page");
    CHECK_MSG(!strstr(page, "<img src=x") && strstr(page, "x&quot;&gt;&lt;img src=x onerror=alert(2)&gt;.jpg"),
              "the hostile path is not escaped");
    CHECK(strstr(page, "Roger &amp; &lt;b&gt;Federer&lt;/b&gt;") && !strstr(page, "<b>Federer"));
    CHECK_MSG(count(page, "class=\"card result") == 10, "%zu result cards", count(page, "class=\"card result"));
    CHECK_MSG(count(page, "<figure class=\"px flow\">") == 5, "%zu flow figures", count(page, "<figure class=\"px flow\">"));
    size_t n = check_images(t, page);
    if (fe_t_failed(t)) return;
    CHECK_MSG(n == 16, "%zu inline images, expected 16 (query, 10 results, 5 flows)", n);
    CHECK(!strstr(page, "http://") && !strstr(page, "https://"));
    /* the result order of the page is the search's: David_Wells first at stage 2 */
    const char *s2 = strstr(page, "Stage 2:");
    CHECK(s2 && strstr(s2, "1. David_Wells"));
    /* a failed write leaves no report behind and exits 1 */
    char out[4096];
    int rc = fe_t_run(out, sizeof out, "%s query '%s/hostile.fei' %s/query/David_Wells/David_Wells_0004.jpg "
                      "--html /nonexistent-dir/r.html 2>&1", fe_t_cli(), fe_t_tmpdir(), FE_T_DEMO);
    CHECK_MSG(rc == 1 && strstr(out, "/nonexistent-dir/r.html"), "exit %d: %s", rc, out);
    NOTE("%zu bytes, %zu inline PNGs all decode", strlen(page), n);
    free(page);
}

FE_TEST(html_demo_report) {
    if (!fe_t_have_demo(t)) return;
    char path[700], out[16384];
    snprintf(path, sizeof path, "%s/demo.html", fe_t_tmpdir());
    int rc = fe_t_run(out, sizeof out, "%s demo --html '%s' 2>&1", fe_t_cli(), path);
    CHECK_MSG(rc == 0 && strstr(out, "wrote "), "exit %d: %s", rc, out);
    size_t n;
    char *page = fe_t_read_file(path, &n);
    CHECK(page);
    CHECK_MSG(count(page, "class=\"report-query\"") == 3 && count(page, "class=\"card result") == 30 &&
              count(page, "<figure class=\"px flow\">") == 15, "%zu queries, %zu cards, %zu flows",
              count(page, "class=\"report-query\""), count(page, "class=\"card result"),
              count(page, "<figure class=\"px flow\">"));
    CHECK(strstr(page, "masked query: David_Wells_0004") && strstr(page, "sunglasses query: David_Wells_0004"));
    CHECK(!strstr(page, "<script") && !strstr(page, "https://"));
    size_t imgs = check_images(t, page);
    if (fe_t_failed(t)) return;
    CHECK_MSG(imgs == 3 * 16, "%zu inline images", imgs);
    NOTE("%zu bytes, %zu inline PNGs all decode", n, imgs);
    free(page);
}

/* `eval --html` on the demo data, read from a directory whose name is markup (so the page
 * must escape it): one results table per kind with a stage-1 and a default row, the example
 * blocks (trio card + flow picture each), every inline PNG decodes, nothing active or remote. */
FE_TEST(html_eval_report) {
    if (!fe_t_have_demo(t)) return;
    const int san = fe_t_sanitized();   /* ~50x slower embedding: fewer queries there */
    char cwd[4096], target[4200], link[800], path[700], out[16384];
    CHECK(getcwd(cwd, sizeof cwd));
    snprintf(target, sizeof target, "%s/%s/gallery", cwd, FE_T_DEMO);
    snprintf(link, sizeof link, "%s/g<i>&x", fe_t_tmpdir());
    unlink(link);
    CHECK_MSG(symlink(target, link) == 0, "symlink %s", link);
    snprintf(path, sizeof path, "%s/eval.html", fe_t_tmpdir());
    const char *kinds = san ? "crop70,mask --limit 8" : "crop70,mask,clean";
    int rc = fe_t_run(out, sizeof out, "%s eval '%s' --landmarks %s --threads 2 --boot 100 --kinds %s --html '%s' 2>&1",
                      fe_t_cli(), link, FE_T_DEMO_LM, kinds, path);
    CHECK_MSG(rc == 0 && strstr(out, "wrote "), "exit %d: %s", rc, out);
    size_t n;
    char *page = fe_t_read_file(path, &n);
    CHECK(page);
    CHECK_MSG(!strstr(page, "<script") && !strstr(page, "http://") && !strstr(page, "https://"), "active or remote content");
    CHECK_MSG(strstr(page, "g&lt;i&gt;&amp;x") && !strstr(page, "g<i>&x"), "the data directory name is not escaped");
    const char *names[3] = {"crop70", "mask", "clean"};
    for (int k = 0; k < (san ? 2 : 3); k++) {
        char id[64];
        snprintf(id, sizeof id, "<section id=\"kind-%s\">", names[k]);
        const char *sec = strstr(page, id), *end = sec ? strstr(sec, "</section>") : NULL;
        CHECK_MSG(sec && end, "no section for %s", names[k]);
        const char *s1 = strstr(sec, "<td>stage1</td>"), *d = strstr(sec, "<td>emd-4x4-apc-sinkhorn-a0.7 *</td>");
        CHECK_MSG(s1 && d && s1 < d && d < end, "%s: the stage-1 and default rows are missing or out of order", names[k]);
        CHECK(strstr(sec, "Re-ranking fixed the top-1") && strstr(sec, "Re-ranking broke the top-1"));
    }
    size_t cards = count(page, "class=\"card example"), flows = count(page, "<figure class=\"px flow\">");
    CHECK_MSG(cards <= 2 * 3 * 3 && flows == cards, "%zu example cards, %zu flows", cards, flows);
    /* without sanitizers crop70 is known to have both kinds of example on the demo data */
    CHECK_MSG(san || (cards >= 2 && count(page, "class=\"card example hit\"") >= 1), "%zu example cards", cards);
    size_t imgs = check_images(t, page);
    if (fe_t_failed(t)) return;
    CHECK_MSG(imgs == 4 * cards, "%zu inline images for %zu examples (query, two top-1s, flow each)", imgs, cards);
    /* a failed write exits 1 and names the file */
    rc = fe_t_run(out, sizeof out, "%s eval '%s' --landmarks %s --boot 10 --kinds clean --limit 2 "
                  "--html /nonexistent-dir/e.html 2>&1", fe_t_cli(), link, FE_T_DEMO_LM);
    CHECK_MSG(rc == 1 && strstr(out, "/nonexistent-dir/e.html"), "exit %d: %s", rc, out);
    NOTE("%zu bytes, %zu examples, %zu inline PNGs all decode", n, cards, imgs);
    free(page);
    unlink(link);
}

/* ---- the browser ----------------------------------------------------------------------- */

static const char *find_chromium(void) {
    static const char *const c[] = {"/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"};
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++)
        if (access(c[i], X_OK) == 0) return c[i];
    return NULL;
}

/* Negative control added to the test copy: an image that cannot decode must be counted as
 * not decoded (the page then has 17 images, 16 decoded). */
static const char broken_img[] = "<img src=\"data:image/png;base64,iVBORw0KGgoAAAAA\" alt=\"broken\">";

/* Appended to a test copy of the report (the report itself has no script): after load, it
 * writes what it found into <pre id="fe-check">, which --dump-dom prints. */
static const char check_script[] =
    "<script>window.addEventListener('load',function(){"
    "var im=document.images,ok=0;for(var i=0;i<im.length;i++)if(im[i].complete&&im[i].naturalWidth>0)ok++;"
    "var body=document.body.textContent;"
    "var r='images='+im.length+' decoded='+ok+' cards='+document.querySelectorAll('.card.result').length+"
    "' flows='+document.querySelectorAll('figure.flow img').length+' scripts='+document.scripts.length+"
    "' sw='+document.documentElement.scrollWidth+' iw='+window.innerWidth+"
    "' label='+(body.indexOf('<script>alert(1)</scr'+'ipt>')>=0?1:0);"
    "var p=document.createElement('pre');p.id='fe-check';p.textContent=r;document.body.appendChild(p);});"
    "</script>";

FE_TEST(html_report_in_browser) {
    const char *chromium = find_chromium();
    if (!chromium) SKIP("chromium is not installed (apt-get install chromium; .ci/run installs it)");
    if (!fe_t_have_demo(t)) return;
    char path[700];
    char *page = query_report(t, path, sizeof path);
    if (!page) return;
    /* the test copy: the report plus the check script before </body> */
    char *end = strstr(page, "</body>");
    CHECK(end);
    char check_path[760], cwd[4096], out[1024];
    snprintf(check_path, sizeof check_path, "%s/check.html", fe_t_tmpdir());
    FILE *fp = fopen(check_path, "wb");
    CHECK(fp);
    fwrite(page, 1, (size_t)(end - page), fp);
    fputs(broken_img, fp);
    fputs(check_script, fp);
    fputs(end, fp);
    CHECK(fclose(fp) == 0);
    CHECK(getcwd(cwd, sizeof cwd));
    const char *tmp = fe_t_tmpdir();
    char abs_check[5000], abs_report[5000];
    snprintf(abs_check, sizeof abs_check, "%s%s%s", tmp[0] == '/' ? "" : cwd, tmp[0] == '/' ? "" : "/", check_path);
    snprintf(abs_report, sizeof abs_report, "%s%s%s", tmp[0] == '/' ? "" : cwd, tmp[0] == '/' ? "" : "/", path);
    /* timeout(1) bounds every run; the harness alarm is the backstop. 500 px is headless
     * Chromium's narrowest window: the page must fit it without sideways scrolling. */
    const char *flags = "--headless --disable-gpu --no-sandbox --no-first-run --hide-scrollbars "
                        "--disable-extensions --mute-audio";
    int rc = fe_t_run(NULL, 0, "HOME='%s' timeout -k 5 120 %s %s --user-data-dir='%s/chrome' "
                      "--window-size=500,900 --virtual-time-budget=10000 --dump-dom 'file://%s' >'%s/dom.html' "
                      "2>'%s/chromium.log'", tmp, chromium, flags, tmp, abs_check, tmp, tmp);
    snprintf(out, sizeof out, "%s/dom.html", tmp);
    char *dom = fe_t_read_file(out, NULL);
    char *res = dom ? strstr(dom, "<pre id=\"fe-check\">") : NULL;
    snprintf(out, sizeof out, "%.300s", dom ? dom : "(nothing)");
    if (rc != 0 || !res) {
        free(dom);
        if (rc == 124 || rc == 137 || rc == -1) SKIP("chromium did not finish within 120 s (exit %d)", rc);
        FAIL("chromium exit %d, no check result; output starts: %.300s", rc, out);
    }
    unsigned images = 0, decoded = 0, cards = 0, flows = 0, scripts = 0, sw = 0, iw = 0, label = 0;
    int got = sscanf(res + strlen("<pre id=\"fe-check\">"), "images=%u decoded=%u cards=%u flows=%u scripts=%u sw=%u iw=%u label=%u",
                     &images, &decoded, &cards, &flows, &scripts, &sw, &iw, &label);
    free(dom);
    CHECK_MSG(got == 8, "could not read the check line");
    CHECK_MSG(images == 17 && decoded == 16, "%u of %u images decoded (expected the report's 16 of 16, plus "
              "the broken control image undecoded)", decoded, images);
    CHECK_MSG(cards == 10 && flows == 5, "%u result cards (expected 10), %u flow pictures (expected 5)", cards, flows);
    CHECK_MSG(scripts == 1, "%u scripts in the page (only the test's own is expected)", scripts);
    CHECK_MSG(label == 1, "the label <script>alert(1)</script> does not show as text");
    CHECK_MSG(iw > 0 && sw <= iw, "the page is %u px wide in a %u px window (sideways scrolling)", sw, iw);
    /* screenshots of the report itself (no check script), kept as test artifacts */
    char shot[2][5000];
    mkdir("build", 0755);
    mkdir("build/test-artifacts", 0755);
    static const char *const name[2] = {"report-desktop.png", "report-phone.png"};
    static const char *const size[2] = {"1200,2200", "500,1400"};
    for (int k = 0; k < 2; k++) {
        snprintf(shot[k], sizeof shot[k], "%s/build/test-artifacts/%s", cwd, name[k]);
        unlink(shot[k]);
        rc = fe_t_run(NULL, 0, "HOME='%s' timeout -k 5 120 %s %s --user-data-dir='%s/chrome' --window-size=%s "
                      "--screenshot='%s' 'file://%s' >/dev/null 2>&1", tmp, chromium, flags, tmp, size[k], shot[k],
                      abs_report);
        fe_image *img = NULL;
        CHECK_MSG(rc == 0 && fe_image_load(shot[k], &img) == FE_OK, "screenshot %s: exit %d", name[k], rc);
        CHECK(img->width == (k ? 500u : 1200u));
        fe_image_free(img);
    }
    NOTE("%u/%u images decoded (+1 broken control), %u cards, %u px page in a %u px window; screenshots in build/test-artifacts/",
         decoded, images - 1, cards, sw, iw);
    free(page);
}
