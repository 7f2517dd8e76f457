/* test_methods.c: the training methods (models/method*.c): the registry,
 * each method's events on a hand-built log, and each loss against
 * hand-computed values and central finite differences.
 *
 * Expected loss values come from numpy in double precision
 * (/usr/bin/python3, numpy 1.24) with the logits and auxiliary
 * probabilities rounded to float as the C code sees them:
 * softplus(x) = np.logaddexp(0, x), s(x) = 1/(1+exp(-x)),
 * L = mean(w (softplus(z) - y z)), dL/dz = w (s(z) - y) / n, and for
 * DFM the textbook forms -log p - log lam + lam d and
 * -log(1 - p + p exp(-lam t)) (not the stable ones the code uses).
 * Losses are summed in double: 1e-12 relative; gradients are floats:
 * 1e-6 relative plus 1e-9 absolute. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "models/method.h"
#include "models/method_internal.h"
#include "sim/log.h"

static void assert_close(double got, double want, double rel, double abs_)
{
  if (!(fabs(got - want) <= abs_ + rel * fabs(want)))
    fail_msg("got %.17g, want %.17g (rel %g, abs %g)", got, want, rel,
             abs_);
}

/* ---- registry ---- */

static void test_registry(void **state)
{
  static const char *const names[] = {
      "pretrain", "oracle", "naive", "vanilla", "fnw",
      "fnc",      "esdfm",  "dfm",   "fsiw",    "defer"};
  int n;
  const method_type *const *all = method_all(&n);
  assert_int_equal(n, 10);
  for (int i = 0; i < n; i++) {
    assert_string_equal(all[i]->name, names[i]);
    assert_ptr_equal(method_find(names[i]), all[i]);
    assert_non_null(all[i]->loss);
    assert_non_null(all[i]->serve);
    assert_true(all[i]->heads == 1 || all[i]->heads == 2);
    /* Streaming methods build events; the frozen baseline does not. */
    assert_int_equal(all[i]->streams != 0, all[i]->events != NULL);
  }
  assert_string_equal(
      method_names(),
      "pretrain|oracle|naive|vanilla|fnw|fnc|esdfm|dfm|fsiw|defer");
  assert_null(method_find("dfm2"));
  assert_null(method_find(""));
  assert_int_equal(method_find("dfm")->heads, 2);
  assert_int_equal(method_find("dfm")->own_pretrain, 1);
  assert_int_equal(method_find("pretrain")->streams, 0);

  /* The auxiliary models. */
  assert_int_equal(method_find("esdfm")->aux, AUX_ESDFM);
  const aux_type *aux = aux_find(AUX_ESDFM);
  assert_non_null(aux);
  assert_int_equal(aux->heads, 2);
  assert_string_equal(aux->name, "esdfm");
  assert_null(aux->elapsed);
  assert_null(aux_find(AUX_NONE));

  /* FSIW's conditions on the elapsed time, DEFER's has one head. */
  assert_int_equal(method_find("fsiw")->aux, AUX_FSIW);
  assert_int_equal(aux_find(AUX_FSIW)->heads, 2);
  assert_non_null(aux_find(AUX_FSIW)->elapsed);
  assert_int_equal(method_find("defer")->aux, AUX_DEFER);
  assert_int_equal(aux_find(AUX_DEFER)->heads, 1);
  assert_null(aux_find(AUX_DEFER)->elapsed);
  assert_null(aux_find(AUX_COUNT));
}

/* ---- events on a hand-built log ----
 *
 * Pre-training 100 s, intervals of 10 s.  Row 0 is a pre-training click
 * converting at 120, inside the stream: the methods that follow
 * conversions as they arrive give it a positive then, the others nothing.
 * The last click is at 125, so there are 3 intervals and the stream ends
 * at 130.  Click order: r0 50, r2 103, r1 105, r3 112, r6 113, r4 118,
 * r5 125. */
static const int64_t ev_click[7] = {50, 105, 103, 112, 118, 125, 113};
static const int64_t ev_conv[7] = {120, -1, 104, 121, 200, 127, 113};

typedef struct ev_want {
  int64_t time;
  uint32_t row;
  uint8_t label, kind;
} ev_want;

enum { F = REPLAY_FIRST, D = REPLAY_DELAYED_POS, S = REPLAY_SECOND };

typedef struct ev_case {
  const char *method;
  int duplicate; /* vanilla.duplicate; vanilla.wait 5 s, elapsed 3 s */
  int64_t window; /* defer.window (defer.elapsed 3 s) */
  size_t n;
  ev_want want[12];
} ev_case;

static const ev_case ev_cases[] = {
    /* Eventual labels at click time. */
    {"oracle", 1, 12, 6,
     {{103, 2, 1, F}, {105, 1, 0, F}, {112, 3, 1, F}, {113, 6, 1, F},
      {118, 4, 1, F}, {125, 5, 1, F}}},
    /* Known at the end of the click's interval (110, 120, 130): times
     * are the interval's last second; r3 (121) and r4 (200) are
     * negatives for good. */
    {"naive", 1, 12, 6,
     {{109, 2, 1, F}, {109, 1, 0, F}, {119, 3, 0, F}, {119, 6, 1, F},
      {119, 4, 0, F}, {129, 5, 1, F}}},
    /* FSIW trains on naive's data. */
    {"fsiw", 1, 12, 6,
     {{109, 2, 1, F}, {109, 1, 0, F}, {119, 3, 0, F}, {119, 6, 1, F},
      {119, 4, 0, F}, {129, 5, 1, F}}},
    /* c + 5; r0's conversion at 120 and r3's at 121 come after their
     * waits: duplicates; r4's at 200 and r5's first appearance at 130
     * fall beyond the stream. */
    {"vanilla", 1, 12, 7,
     {{108, 2, 1, F}, {110, 1, 0, F}, {117, 3, 0, F}, {118, 6, 1, F},
      {120, 0, 1, D}, {121, 3, 1, D}, {123, 4, 0, F}}},
    {"vanilla", 0, 12, 5,
     {{108, 2, 1, F}, {110, 1, 0, F}, {117, 3, 0, F}, {118, 6, 1, F},
      {123, 4, 0, F}}},
    /* Every click at once as a negative (r0's at 50 is before the
     * stream), a positive at each conversion before 130 (r6 converts at
     * its click: negative then positive). */
    {"fnw", 1, 12, 11,
     {{103, 2, 0, F}, {104, 2, 1, D}, {105, 1, 0, F}, {112, 3, 0, F},
      {113, 6, 0, F}, {113, 6, 1, D}, {118, 4, 0, F}, {120, 0, 1, D},
      {121, 3, 1, D}, {125, 5, 0, F}, {127, 5, 1, D}}},
    {"fnc", 1, 12, 11,
     {{103, 2, 0, F}, {104, 2, 1, D}, {105, 1, 0, F}, {112, 3, 0, F},
      {113, 6, 0, F}, {113, 6, 1, D}, {118, 4, 0, F}, {120, 0, 1, D},
      {121, 3, 1, D}, {125, 5, 0, F}, {127, 5, 1, D}}},
    /* c + 3; at 121 r3's duplicate was built before r4's first
     * appearance, and the stable sort keeps that order. */
    {"esdfm", 1, 12, 8,
     {{106, 2, 1, F}, {108, 1, 0, F}, {115, 3, 0, F}, {116, 6, 1, F},
      {120, 0, 1, D}, {121, 3, 1, D}, {121, 4, 0, F}, {128, 5, 1, F}}},
    /* DEFER, c + 3 and a window of 12 s: a positive within 3 s is
     * duplicated at once (r2, r6, r5); r3 converts at 121 within its
     * window (124); r1 never converts and comes back negative at 117;
     * r0 (converting 70 s after its click) and r4 (82 s) come back at
     * 62 and 130, outside the stream. */
    {"defer", 1, 12, 11,
     {{106, 2, 1, F}, {106, 2, 1, S}, {108, 1, 0, F}, {115, 3, 0, F},
      {116, 6, 1, F}, {116, 6, 1, S}, {117, 1, 0, S}, {121, 3, 1, D},
      {121, 4, 0, F}, {128, 5, 1, F}, {128, 5, 1, S}}},
    /* A window of 75 s: r0's conversion 70 s after its click now comes
     * back as a positive at 120; r1's and r4's returns (180, 193) fall
     * beyond the stream. */
    {"defer", 1, 75, 11,
     {{106, 2, 1, F}, {106, 2, 1, S}, {108, 1, 0, F}, {115, 3, 0, F},
      {116, 6, 1, F}, {116, 6, 1, S}, {120, 0, 1, D}, {121, 3, 1, D},
      {121, 4, 0, F}, {128, 5, 1, F}, {128, 5, 1, S}}},
    /* Click time, label known then (r6 converts at its click). */
    {"dfm", 1, 12, 6,
     {{103, 2, 0, F}, {105, 1, 0, F}, {112, 3, 0, F}, {113, 6, 1, F},
      {118, 4, 0, F}, {125, 5, 0, F}}},
};

typedef struct ev_fixture {
  df_clicks *log;
  replay_clock clock;
  df_config cfg;
} ev_fixture;

static void ev_setup(ev_fixture *fx)
{
  assert_int_equal(clicks_create(&fx->log, 0, 0, 7, 0), 0);
  for (size_t i = 0; i < 7; i++) {
    fx->log->click_ts[i] = ev_click[i];
    fx->log->conv_ts[i] = ev_conv[i];
  }
  fx->log->n = 7;
  assert_int_equal(replay_clock_create(&fx->clock, fx->log, 100, 10), 0);
  assert_int_equal(fx->clock.n_intervals, 3);
  assert_int_equal(fx->clock.end, 130);
  cfg_defaults(&fx->cfg);
  fx->cfg.vanilla_wait = 5;
  fx->cfg.esdfm_elapsed = 3;
  fx->cfg.defer_elapsed = 3;
  fx->cfg.defer_window = 12;
}

static void ev_teardown(ev_fixture *fx)
{
  replay_clock_destroy(&fx->clock);
  clicks_destroy(fx->log);
}

static void test_events(void **state)
{
  ev_fixture fx;
  ev_setup(&fx);
  for (size_t k = 0; k < sizeof ev_cases / sizeof ev_cases[0]; k++) {
    const ev_case *ec = &ev_cases[k];
    const method_type *m = method_find(ec->method);
    assert_non_null(m);
    fx.cfg.vanilla_duplicate = ec->duplicate;
    fx.cfg.defer_window = (double)ec->window;
    method_env env = {fx.log, &fx.clock, &fx.cfg};
    replay_event *ev = NULL;
    size_t n = 0;
    assert_int_equal(m->events(&env, &ev, &n), 0);
    assert_int_equal(replay_sort(ev, n), 0);
    if (n != ec->n)
      fail_msg("%s: %zu events, want %zu", ec->method, n, ec->n);
    for (size_t i = 0; i < n; i++) {
      const ev_want *w = &ec->want[i];
      if (ev[i].time != w->time || ev[i].row != w->row ||
          ev[i].label != w->label || ev[i].kind != w->kind)
        fail_msg("%s event %zu: (%lld, r%u, y%d, k%d), want (%lld, r%u, "
                 "y%d, k%d)",
                 ec->method, i, (long long)ev[i].time, ev[i].row,
                 ev[i].label, ev[i].kind, (long long)w->time, w->row,
                 w->label, w->kind);
    }
    free(ev);
  }
  ev_teardown(&fx);
}

/* The one-clock rule: every streaming method but the oracle labels an
 * event 1 only if the conversion is known at the event's time, no event
 * lies outside the stream, and a pre-training click (row 0) only comes
 * back with a later label, never as a first appearance. */
static void test_one_clock(void **state)
{
  ev_fixture fx;
  ev_setup(&fx);
  int nm;
  const method_type *const *all = method_all(&nm);
  for (int dup = 0; dup <= 1; dup++) {
    fx.cfg.vanilla_duplicate = dup;
    for (int k = 0; k < nm; k++) {
      if (!all[k]->events)
        continue;
      method_env env = {fx.log, &fx.clock, &fx.cfg};
      replay_event *ev = NULL;
      size_t n = 0;
      assert_int_equal(all[k]->events(&env, &ev, &n), 0);
      assert_true(n > 0);
      for (size_t i = 0; i < n; i++) {
        assert_true(ev[i].row != 0 || ev[i].kind != REPLAY_FIRST);
        assert_true(ev[i].time >= fx.clock.start);
        assert_true(ev[i].time < fx.clock.end);
        if (strcmp(all[k]->name, "oracle") && ev[i].label &&
            !replay_known(fx.log->conv_ts[ev[i].row], ev[i].time))
          fail_msg("%s: event %zu labelled 1 before its conversion",
                   all[k]->name, i);
      }
      free(ev);
    }
  }
  ev_teardown(&fx);
}

/* ---- weighted BCE losses on one batch of 4 events ---- */

static const float bce_z[4] = {-1, 0.5f, 2, -3};
static const uint8_t bce_y[4] = {1, 0, 1, 0};
/* ES-DFM's frozen auxiliary probabilities, [p_dp, p_rn] per row. */
static const float bce_aux[8] = {0.2f, 0.9f, 0.1f, 0.6f,
                                 0.4f, 0.5f, 0.3f, 0.8f};

typedef struct loss_case {
  const char *method;
  int fd; /* weights independent of z: finite differences apply */
  double loss;
  double grad[4];
} loss_case;

static const loss_case loss_cases[] = {
    /* w = 1. */
    {"oracle", 1, 0.6157135085787611,
     {-0.18276464465750122, 0.15561483280046365, -0.02980073050552937,
      0.0118564682943917}},
    {"fnc", 1, 0.6157135085787611,
     {-0.18276464465750122, 0.15561483280046365, -0.02980073050552937,
      0.0118564682943917}},
    /* w = 1 + p or (1 - p)(1 + p), p = s(z) held constant: not the
     * derivative of the loss value, so no finite differences. */
    {"fnw", 0, 0.6375803590608103,
     {-0.23191762796787171, 0.09532099143213801, -0.05604912685640598,
      0.01182980056647412}},
    /* w = 1 + p_dp or (1 + p_dp) p_rn. */
    {"esdfm", 1, 0.6117587319953444,
     {-0.21931757413368255, 0.10270579386859792, -0.04172102288536731,
      0.01233072732298161}},
    /* The pairs as [P(observed | converts), P(real negative | negative)]:
     * w = 1 / (P + 1e-8) or the second. */
    {"fsiw", 1, 1.8767360304865406,
     {-0.9138231639793216, 0.09336890339042492, -0.07450182329111416,
      0.009485174776853473}},
    /* The first of each pair as p_dp, min(p_dp, p) with p = s(z) (row 3
     * is clamped: p = 0.047 < 0.3): w = p / (p - p_dp/2) or
     * (1 - p) / (1 - p + p_dp/2), following z. */
    {"defer", 0, 0.7905982620253948,
     {-0.29094690541442886, 0.13741599860703257, -0.03855538943225807,
      0.011568487749151786}},
};

/* Central differences of loss(ctx) in each logit, step 2^-10 (exact in
 * float), against the analytic gradient: 1e-5 relative + 1e-7. */
static void check_fd(loss_fn loss, void *ctx, size_t n, int heads,
                     const float *z0, const float *grad)
{
  float z[16], g[16];
  const float h = 1.0f / 1024;
  for (size_t i = 0; i < n * (size_t)heads; i++) {
    memcpy(z, z0, n * (size_t)heads * sizeof *z);
    z[i] = z0[i] + h;
    double up = loss(ctx, n, heads, z, g);
    z[i] = z0[i] - h;
    double down = loss(ctx, n, heads, z, g);
    double fd = (up - down) / (2 * (double)h);
    if (!(fabs(fd - grad[i]) <= 1e-7 + 1e-5 * fabs(fd)))
      fail_msg("logit %zu: gradient %.9g, finite difference %.9g", i,
               grad[i], fd);
  }
}

static void test_losses(void **state)
{
  replay_event ev[4];
  memset(ev, 0, sizeof ev);
  for (int i = 0; i < 4; i++)
    ev[i].label = bce_y[i];
  method_batch b = {.n = 4, .ev = ev, .aux = bce_aux, .aux_heads = 2};
  for (size_t k = 0; k < sizeof loss_cases / sizeof loss_cases[0]; k++) {
    const loss_case *lc = &loss_cases[k];
    const method_type *m = method_find(lc->method);
    float grad[4];
    double loss = m->loss(&b, 4, 1, bce_z, grad);
    assert_close(loss, lc->loss, 1e-12, 0);
    for (int i = 0; i < 4; i++)
      assert_close(grad[i], lc->grad[i], 1e-6, 1e-9);
    if (lc->fd)
      check_fd(m->loss, &b, 4, 1, bce_z, grad);
  }
}

/* ---- ES-DFM's auxiliary loss ----
 *
 * now = 100, e = 10.  Rows (c, h): r0 (10, 15) converted within e;
 * r1 (20, 50) a delayed positive; r2 (30, -1) never; r3 (95, -1) and
 * r5 (92, 96) with e not yet elapsed at now; r4 (40, 150) converts after
 * now, so as known it is a true negative.  dp labels 0 1 0 0 0 0 over
 * all six rows; the tn head counts r1, r2, r4 with labels 0 1 1. */
static void test_aux_esdfm(void **state)
{
  static const int64_t c[6] = {10, 20, 30, 95, 40, 92};
  static const int64_t h[6] = {15, 50, -1, -1, 150, 96};
  static const float z[12] = {0.5f, -1, 1.5f, -0.25f, 2,     -2,
                              -0.5f, 0.75f, 1,    1.25f, -1.5f, 0.25f};
  static const double want_g0[6] = {
      0.10374322186697577, -0.03040425396772606, 0.14679951299631375,
      0.0629234447996909,  0.12184309643833414,  0.03040425396772605};
  static const double want_g1[6] = {0, 0.14594116637140064,
                                    -0.2935990259926275, 0,
                                    -0.0742333796084363, 0};
  df_clicks *log;
  assert_int_equal(clicks_create(&log, 0, 0, 6, 0), 0);
  replay_event ev[6];
  memset(ev, 0, sizeof ev);
  for (uint32_t i = 0; i < 6; i++) {
    log->click_ts[i] = c[i];
    log->conv_ts[i] = h[i];
    ev[i].row = i;
    ev[i].time = 100;
  }
  log->n = 6;
  df_config cfg;
  cfg_defaults(&cfg);
  cfg.esdfm_elapsed = 10;
  method_batch b = {.n = 6, .ev = ev, .log = log, .cfg = &cfg, .now = 100};

  const aux_type *aux = aux_find(AUX_ESDFM);
  float grad[12];
  double loss = aux->loss(&b, 6, 2, z, grad);
  assert_close(loss, 1.8667938745702153, 1e-12, 0);
  for (int i = 0; i < 6; i++) {
    assert_close(grad[2 * i], want_g0[i], 1e-6, 1e-9);
    assert_close(grad[2 * i + 1], want_g1[i], 1e-6, 1e-9);
  }
  check_fd(aux->loss, &b, 6, 2, z, grad);
  clicks_destroy(log);
}

/* ---- FSIW's and DEFER's auxiliary losses ----
 *
 * A six-row batch like ES-DFM's above, now = 99, stream.pretrain = 100.
 * FSIW with fsiw.deadline = 30: D = 69.  obs rows (converted by now, c
 * <= D): r0 (label 1: known at D), r1 (0: converts at 80), r5 (1: at
 * 69); rn rows (negative at D): r1 (0), r2 (1), r4 (1: its conversion
 * at 150 is not known at now); r3 clicks after D.  DEFER with e = 9,
 * W = 60: dp rows are r0 (delay 10), r1 (delay 60, the window's closed
 * edge) and r3 (15); not r5 (delay 9, the elapsed time's open edge) nor
 * r4 (not known by now). */
static const int64_t aux_c[6] = {10, 20, 30, 75, 40, 60};
static const int64_t aux_h[6] = {20, 80, -1, 90, 150, 69};

static void aux_fixture(df_clicks **log, replay_event *ev, df_config *cfg,
                        method_batch *b)
{
  assert_int_equal(clicks_create(log, 0, 0, 6, 0), 0);
  memset(ev, 0, 6 * sizeof *ev);
  for (uint32_t i = 0; i < 6; i++) {
    (*log)->click_ts[i] = aux_c[i];
    (*log)->conv_ts[i] = aux_h[i];
    ev[i].row = i;
    ev[i].time = 99;
  }
  (*log)->n = 6;
  cfg_defaults(cfg);
  cfg->stream_pretrain = 100;
  cfg->fsiw_deadline = 30;
  cfg->defer_elapsed = 9;
  cfg->defer_window = 60;
  *b = (method_batch){.n = 6, .ev = ev, .log = *log, .cfg = cfg,
                      .now = 99};
}

static void test_aux_fsiw_defer(void **state)
{
  static const float z[12] = {0.5f, -1, 1.5f, -0.25f, 2,     -2,
                              -0.5f, 0.75f, 1,    1.25f, -1.5f, 0.25f};
  static const double want_fsiw[12] = {
      -0.1258468895993818, 0, 0.2725248253978812, 0.14594116637140064,
      0, -0.2935990259926275, 0, 0, 0, -0.0742333796084363,
      -0.2725248253978812, 0};
  static const float zd[6] = {0.5f, 1.5f, 2, -0.5f, 1, -1.5f};
  static const double want_defer[6] = {
      -0.0629234447996909, -0.030404253967726058, 0.14679951299631375,
      -0.10374322186697577, 0.12184309643833414,  0.030404253967726055};
  df_clicks *log;
  replay_event ev[6];
  df_config cfg;
  method_batch b;
  aux_fixture(&log, ev, &cfg, &b);

  const aux_type *fsiw = aux_find(AUX_FSIW);
  float grad[12];
  assert_close(fsiw->loss(&b, 6, 2, z, grad), 2.277233350804267, 1e-12, 0);
  for (int i = 0; i < 12; i++)
    assert_close(grad[i], want_fsiw[i], 1e-6, 1e-9);
  check_fd(fsiw->loss, &b, 6, 2, z, grad);

  const aux_type *defer = aux_find(AUX_DEFER);
  assert_close(defer->loss(&b, 6, 1, zd, grad), 0.8818617038144855, 1e-12,
               0);
  for (int i = 0; i < 6; i++)
    assert_close(grad[i], want_defer[i], 1e-6, 1e-9);
  check_fd(defer->loss, &b, 6, 1, zd, grad);
  clicks_destroy(log);
}

/* The elapsed time FSIW's aux model sees: D - c in pre-training (0 after
 * D), and in the stream the last second of the click's interval minus
 * the click time.  The event log above, fsiw.deadline = 30: D = 69. */
static void test_aux_fsiw_elapsed(void **state)
{
  static const struct {
    uint32_t row;
    int stream;
    int64_t want;
  } cases[] = {
      {0, 0, 19}, {1, 0, 0}, {1, 1, 4}, {3, 1, 7}, {5, 1, 4}, {4, 1, 1},
  };
  ev_fixture fx;
  ev_setup(&fx);
  fx.cfg.stream_pretrain = 100;
  fx.cfg.fsiw_deadline = 30;
  method_env env = {fx.log, &fx.clock, &fx.cfg};
  const aux_type *a = aux_find(AUX_FSIW);
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++)
    if (a->elapsed(&env, cases[k].row, cases[k].stream) != cases[k].want)
      fail_msg("row %u stream %d: elapsed %lld, want %lld", cases[k].row,
               cases[k].stream,
               (long long)a->elapsed(&env, cases[k].row, cases[k].stream),
               (long long)cases[k].want);
  ev_teardown(&fx);
}

/* Keys a method checks before any work: FSIW's deadline must fall in
 * pre-training, DEFER's window must outlast its elapsed time. */
static void test_checks(void **state)
{
  static const struct {
    const char *method, *key;
    double value;
    const char *want; /* NULL: accepted */
  } cases[] = {
      {"fsiw", "deadline", 6 * 86400.0, NULL},
      {"fsiw", "deadline", 30 * 86400.0, "fsiw.deadline (30d) must be "
                                         "shorter than stream.pretrain "
                                         "(30d)"},
      {"defer", "window", 3600, NULL},
      {"defer", "window", 900, "defer.window (15m) must be longer than "
                               "defer.elapsed (15m)"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    df_config cfg;
    cfg_defaults(&cfg);
    if (!strcmp(cases[k].key, "deadline"))
      cfg.fsiw_deadline = cases[k].value;
    else
      cfg.defer_window = cases[k].value;
    int rc = method_find(cases[k].method)->check(&cfg);
    if (!cases[k].want) {
      assert_int_equal(rc, 0);
      continue;
    }
    assert_int_equal(rc, DF_EINPUT);
    if (!strstr(df_errmsg(), cases[k].want))
      fail_msg("case %zu: message '%s'", k, df_errmsg());
  }
}

/* ---- DFM ----
 *
 * now = 2 days.  r0 clicked at 0, converted at 0.5 d; r1 clicked at 1 d,
 * never converts (t = 1 d); r2 clicked at 1.5 d, converts at 3 d, after
 * now (pending, t = 0.5 d); r3 clicked at now (t = 0: no loss, no
 * gradient). */
static const int64_t dfm_c[5] = {0, 86400, 129600, 172800, 0};
static const int64_t dfm_h[5] = {43200, -1, 259200, -1, 3600};

static void dfm_batch(method_batch *b, replay_event *ev, df_clicks **log,
                      size_t n)
{
  assert_int_equal(clicks_create(log, 0, 0, 5, 0), 0);
  memset(ev, 0, n * sizeof *ev);
  for (uint32_t i = 0; i < 5; i++) {
    (*log)->click_ts[i] = dfm_c[i];
    (*log)->conv_ts[i] = dfm_h[i];
  }
  (*log)->n = 5;
  for (uint32_t i = 0; i < n; i++)
    ev[i].row = i;
  memset(b, 0, sizeof *b);
  b->n = n;
  b->ev = ev;
  b->log = *log;
  b->now = 172800;
}

static void test_dfm_loss(void **state)
{
  static const float z[8] = {0.3f, -0.5f, -1.2f, 1.0f,
                             2.0f, 0.2f,  0.7f,  -2.0f};
  static const double want_g[8] = {
      -0.10638937006854274, -0.15189990633152634, 0.03913537782185067,
      0.01369523045589807,  0.01216216845071655,  0.05719293550482359,
      0,                    0};
  replay_event ev[5];
  df_clicks *log;
  method_batch b;
  dfm_batch(&b, ev, &log, 4);
  const method_type *m = method_find("dfm");
  float grad[8];
  double loss = m->loss(&b, 4, 2, z, grad);
  assert_close(loss, 0.5163562106096629, 1e-12, 0);
  for (int i = 0; i < 8; i++)
    assert_close(grad[i], want_g[i], 1e-6, 1e-9);
  check_fd(m->loss, &b, 4, 2, z, grad);
  clicks_destroy(log);
}

/* Extreme logits stay finite and keep their limits: lambda = e^-40
 * (log lambda ~ -40), p near 0 or 1, a huge rate on a pending row. */
static void test_dfm_extreme(void **state)
{
  static const struct {
    uint32_t row;
    float z1, z2;
    double loss; /* from the limits in the comments, numpy-checked */
  } cases[] = {
      /* Converted, d = 0.5: -log s(5) + 40 + e^-40 * 0.5. */
      {0, 5, -40, 0.006715348489118068 + 40},
      /* Converted after 1 h: -log s(-50) = 50, lambda = softplus(60) =
       * 60 (to 1e-26), + 60/24 - log 60. */
      {4, -50, 60, 50 + 2.5 - 4.0943445622221},
      /* Pending with t = 1 d and lambda = 80: softplus(30) -
       * softplus(-50) = 30 + 9.4e-14. */
      {1, 30, 80, 30.000000000000094},
  };
  replay_event ev[5];
  df_clicks *log;
  method_batch b;
  dfm_batch(&b, ev, &log, 5);
  const method_type *m = method_find("dfm");
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    float z[2] = {cases[k].z1, cases[k].z2}, grad[2];
    b.ev = &ev[cases[k].row];
    b.n = 1;
    double loss = m->loss(&b, 1, 2, z, grad);
    assert_true(isfinite(grad[0]) && isfinite(grad[1]));
    assert_close(loss, cases[k].loss, 1e-12, 0);
  }
  clicks_destroy(log);
}

/* ---- serving ---- */

static void test_serve(void **state)
{
  static const struct {
    const char *method;
    float z;
    double want;
  } cases[] = {
      {"oracle", 0, 0.5},
      {"esdfm", 2, 0.8807970779778825},
      {"fsiw", -1, 0.2689414213699951},
      {"defer", 0.5f, 0.6224593312018546},
      {"dfm", -3, 0.04742587317756678},
      /* b/(1-b) = e^z below z = 0, clipped to 1 from b = 0.5 on. */
      {"fnc", -1, 0.3678794411714424},
      {"fnc", -20, 2.061153622438558e-09},
      {"fnc", 0, 1},
      {"fnc", 3, 1},
  };
  for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
    const method_type *m = method_find(cases[k].method);
    float z[2] = {cases[k].z, 7};
    assert_close(m->serve(z, m->heads), cases[k].want, 1e-15, 0);
  }
}

int main(void)
{
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_registry),   cmocka_unit_test(test_events),
      cmocka_unit_test(test_one_clock),  cmocka_unit_test(test_losses),
      cmocka_unit_test(test_aux_esdfm),  cmocka_unit_test(test_aux_fsiw_defer),
      cmocka_unit_test(test_aux_fsiw_elapsed),
      cmocka_unit_test(test_checks),     cmocka_unit_test(test_dfm_loss),
      cmocka_unit_test(test_dfm_extreme), cmocka_unit_test(test_serve),
  };
  return cmocka_run_group_tests_name("methods", tests, NULL, NULL);
}
