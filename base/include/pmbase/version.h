/* What was built: results name the commit they measured. */
#ifndef PMBASE_VERSION_H
#define PMBASE_VERSION_H

#ifdef __cplusplus
extern "C" {
#endif

/* The short commit id of the build, "<sha>-dirty" when the tree had
 * uncommitted changes, or "unknown" outside a git checkout. Taken at build
 * time, not at configure time. */
const char *pmb_git_sha(void);

#ifdef __cplusplus
}
#endif

#endif
