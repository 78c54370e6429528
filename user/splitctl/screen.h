/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * A live view's output: on a terminal each frame replaces the last one in
 * place (cursor home, each line cleared to its end, the rest of the screen
 * cleared), written in one write so it never flickers, cut to the
 * terminal's width and height; the cursor is hidden while it runs and
 * shown again at the end. Anywhere else (a pipe, a file) frames are
 * printed as plain lines, an empty line between two, with no escape code.
 * SIGINT, SIGTERM and SIGHUP end the view; SIGQUIT (C-\) ends it too,
 * then kills the process as its default action does; SIGWINCH redraws
 * it; SIGTSTP (C-z) gives the terminal back until SIGCONT.
 */
#ifndef XDPSPLIT_SCREEN_H
#define XDPSPLIT_SCREEN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <linux/types.h>

struct screen {
	bool terminal; /* stdout is a terminal: redraw in place */
	unsigned int rows, columns;
	bool clear_all; /* the first frame clears the screen (into the
			   * scrollback: what was there stays there) */
	size_t frames;	/* shown so far */
	char *last;	/* the last frame, for a redraw after a resize */
};

/* Starts the view on stdout (plain: never in place, for JSON lines);
 * its signals are blocked but while it waits. */
void screen_open(struct screen *s, bool plain);
/* Shows the cursor again and leaves it below the last frame. */
void screen_close(struct screen *s);
/* Shows one frame: lines separated by '\n'. Control bytes in it (from a
 * name in a reply, say) are shown as '?', never sent to the terminal. */
int screen_draw(struct screen *s, const char *frame);
/* Text from a peer as a terminal may be sent it, view or not: lines as
 * they are, every other control byte as '?'. */
void screen_print_safe(FILE *out, const char *text);
/* Waits up to seconds; returns early, after redrawing the last frame at
 * the new size, when the terminal was resized. */
void screen_wait(struct screen *s, double seconds);
/* A signal asked the view to end. */
bool screen_stopped(void);
/* While a view is open, the signal mask to wait with (ppoll) so that its
 * signals get through and a stop interrupts the wait; NULL otherwise. */
const sigset_t *screen_signal_mask(void);

/* A view's interval, in seconds: the same bounds for every view. */
#define SCREEN_INTERVAL_MIN 0.1
#define SCREEN_INTERVAL_MAX 3600
#define SCREEN_INTERVAL_TEXT "0.1 to 3600 seconds"
/* 0 and *seconds, or -EINVAL when text is not a number in the bounds. */
int screen_parse_interval(const char *text, double *seconds);

#endif
