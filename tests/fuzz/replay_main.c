/*
 * Runs a libFuzzer target over every file in the directories (or files) named
 * on the command line, so the saved corpus and past crashes stay regression
 * tests in the ordinary (gcc, ASan+UBSan) build.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REPLAY_MAX (4u << 20) /* inputs over 4 MiB are a corpus mistake */

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    fprintf(stderr, "cannot open '%s'\n", path);
    return -1;
  }
  uint8_t *data = malloc(REPLAY_MAX);
  size_t n = data ? fread(data, 1, REPLAY_MAX, f) : 0;
  fclose(f);
  if (data == NULL)
    return -1;
  /* Hand the target an exact-size copy so ASan sees reads past the end. */
  uint8_t *exact = malloc(n ? n : 1);
  if (exact == NULL) {
    free(data);
    return -1;
  }
  memcpy(exact, data, n);
  free(data);
  LLVMFuzzerTestOneInput(exact, n);
  free(exact);
  return 0;
}

int main(int argc, char **argv) {
  int files = 0;
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0) {
      fprintf(stderr, "cannot read '%s'\n", argv[i]);
      return 1;
    }
    if (!S_ISDIR(st.st_mode)) {
      if (run_file(argv[i]) != 0)
        return 1;
      files++;
      continue;
    }
    DIR *d = opendir(argv[i]);
    if (d == NULL)
      return 1;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
      if (de->d_name[0] == '.')
        continue;
      char path[4096];
      snprintf(path, sizeof path, "%s/%s", argv[i], de->d_name);
      if (run_file(path) != 0) {
        closedir(d);
        return 1;
      }
      files++;
    }
    closedir(d);
  }
  /* An empty corpus means the test proves nothing: fail it. */
  if (files == 0) {
    fprintf(stderr, "no corpus files given\n");
    return 1;
  }
  printf("replayed %d inputs\n", files);
  return 0;
}
