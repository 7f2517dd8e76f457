#include "plots/plot_internal.h"
#include "sim/log.h"
int plot_window(plot_fig *fig)
{
  (void)fig;
  return df_fail(DF_EINPUT, "not yet");
}
