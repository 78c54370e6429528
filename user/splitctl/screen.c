// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The terminal side of the live views (see screen.h). */
#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>
#include "screen.h"

#define CURSOR_HOME "\033[H"
#define CLEAR_SCREEN "\033[2J"
#define CLEAR_TO_LINE_END "\033[K"
#define CLEAR_TO_SCREEN_END "\033[J"
#define CURSOR_HIDE "\033[?25l"
#define CURSOR_SHOW "\033[?25h"

static volatile sig_atomic_t stop_requested, quit_requested, resized, suspended;
static sigset_t mask_before;
static bool view_open;

static void on_stop(int signal)
{
	(void)signal;
	stop_requested = 1;
}

/* C-\: the view ends like on C-c, then the process dies of it, as
 * SIGQUIT's default action would have killed it (exit status 131). */
static void on_quit(int signal)
{
	(void)signal;
	quit_requested = 1;
	stop_requested = 1;
}

static void on_resize(int signal)
{
	(void)signal;
	resized = 1;
}

static void on_suspend(int signal)
{
	(void)signal;
	suspended = 1;
}

bool screen_stopped(void)
{
	return stop_requested;
}

const sigset_t *screen_signal_mask(void)
{
	return view_open ? &mask_before : NULL;
}

static bool interval_valid(double seconds)
{
	return seconds >= SCREEN_INTERVAL_MIN && seconds <= SCREEN_INTERVAL_MAX;
}

int screen_parse_interval(const char *text, double *seconds)
{
	char *end;
	double value;

	/* a number as typed: no blank before it (strtod skips them) */
	if (!text || !*text || isspace((unsigned char)*text))
		return -EINVAL;
	value = strtod(text, &end);
	if (*end || !interval_valid(value))
		return -EINVAL;
	*seconds = value;
	return 0;
}

/* Writes it all; a terminal takes a frame in one call. */
static void write_all(const char *data, size_t length)
{
	while (length) {
		ssize_t n = write(STDOUT_FILENO, data, length);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		data += n;
		length -= (size_t)n;
	}
}

static void read_size(struct screen *s)
{
	struct winsize size;

	s->rows = 24;
	s->columns = 80;
	if (!ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) && size.ws_row &&
	    size.ws_col) {
		s->rows = size.ws_row;
		s->columns = size.ws_col;
	}
}

void screen_open(struct screen *s, bool plain)
{
	struct sigaction stop = { .sa_handler = on_stop };
	struct sigaction quit = { .sa_handler = on_quit };
	struct sigaction resize = { .sa_handler = on_resize };
	struct sigaction suspend = { .sa_handler = on_suspend };
	sigset_t blocked;

	memset(s, 0, sizeof(*s));
	s->terminal = !plain && isatty(STDOUT_FILENO);
	read_size(s);
	/* no SA_RESTART; and blocked but while waiting, so a signal that
	 * comes between a check and the wait is not lost */
	sigemptyset(&blocked);
	sigaddset(&blocked, SIGINT);
	sigaddset(&blocked, SIGTERM);
	sigaddset(&blocked, SIGHUP);
	sigaddset(&blocked, SIGQUIT);
	sigaddset(&blocked, SIGWINCH);
	sigaddset(&blocked, SIGTSTP);
	sigprocmask(SIG_BLOCK, &blocked, &mask_before);
	sigaction(SIGINT, &stop, NULL);
	sigaction(SIGTERM, &stop, NULL);
	sigaction(SIGHUP, &stop, NULL);
	sigaction(SIGQUIT, &quit, NULL);
	sigaction(SIGWINCH, &resize, NULL);
	sigaction(SIGTSTP, &suspend, NULL);
	view_open = true;
	if (s->terminal) {
		fflush(stdout);
		write_all(CURSOR_HIDE, strlen(CURSOR_HIDE));
		s->clear_all = true;
	}
}

void screen_close(struct screen *s)
{
	struct sigaction restore = { .sa_handler = SIG_DFL };

	fflush(stdout);
	if (s->terminal) {
		/* the prompt comes below the last frame, which stays */
		if (s->frames)
			write_all("\r\n", 2);
		write_all(CURSOR_SHOW, strlen(CURSOR_SHOW));
	}
	sigaction(SIGINT, &restore, NULL);
	sigaction(SIGTERM, &restore, NULL);
	sigaction(SIGHUP, &restore, NULL);
	sigaction(SIGQUIT, &restore, NULL);
	sigaction(SIGWINCH, &restore, NULL);
	sigaction(SIGTSTP, &restore, NULL);
	view_open = false;
	free(s->last);
	s->last = NULL;
	if (quit_requested) {
		/* the terminal is back: now die of it, unblocked below */
		fflush(NULL);
		raise(SIGQUIT);
	}
	sigprocmask(SIG_SETMASK, &mask_before, NULL);
	if (quit_requested) /* blocked before the view began */
		_exit(128 + SIGQUIT);
}

/* The byte as a terminal is sent it: a control byte (an escape code in
 * a name from a reply, say) as '?'. */
static unsigned char shown_byte(unsigned char c)
{
	return c < 0x20 || c == 0x7f ? '?' : c;
}

void screen_print_safe(FILE *out, const char *text)
{
	for (const char *p = text; *p; p++)
		fputc(*p == '\n' ? '\n' : shown_byte((unsigned char)*p), out);
}

/* One line of the frame, cut to width columns (a column per character:
 * UTF-8 continuation bytes take none), control bytes as '?'; returns the
 * columns it took. */
static unsigned int put_line(FILE *out, const char *line, size_t length,
			     unsigned int width)
{
	unsigned int used = 0;

	for (size_t i = 0; i < length; i++) {
		unsigned char c = (unsigned char)line[i];
		bool continuation = (c & 0xc0) == 0x80;

		if (!continuation && used == width)
			break;
		fputc(shown_byte(c), out);
		used += !continuation;
	}
	return used;
}

static size_t count_lines(const char *frame)
{
	size_t lines = 0;

	for (const char *p = frame; *p;
	     p = strchr(p, '\n') ? strchr(p, '\n') + 1 : p + strlen(p))
		lines++;
	return lines;
}

/* The frame in place: home, each line then cleared to its end, the
 * screen below cleared; a frame taller than the terminal ends with a line
 * that says so, instead of scrolling. */
static void draw_in_place(struct screen *s, const char *frame)
{
	size_t lines = count_lines(frame), shown = lines, size = 0;
	char *buffer = NULL;
	FILE *out = open_memstream(&buffer, &size);
	const char *p = frame;

	if (!out)
		return;
	if (shown > s->rows)
		shown = s->rows - 1;
	fputs(s->clear_all ? CURSOR_HOME CLEAR_SCREEN : CURSOR_HOME, out);
	s->clear_all = false;
	for (size_t i = 0; i < shown; i++) {
		const char *end = strchr(p, '\n');
		size_t length = end ? (size_t)(end - p) : strlen(p);

		if (i)
			fputs("\r\n", out);
		/* the last column is left free: a character there would
		 * leave the cursor waiting to wrap */
		put_line(out, p, length, s->columns - 1);
		fputs(CLEAR_TO_LINE_END, out);
		p += length + (end ? 1 : 0);
	}
	if (shown < lines) {
		char more[96];

		snprintf(more, sizeof(more),
			 "(%zu more lines: a taller terminal shows them)",
			 lines - shown);
		if (shown)
			fputs("\r\n", out);
		put_line(out, more, strlen(more), s->columns - 1);
		fputs(CLEAR_TO_LINE_END, out);
	} else {
		fputs(CLEAR_TO_SCREEN_END, out);
	}
	if (fclose(out) == 0) /* the whole frame, one write */
		write_all(buffer, size);
	free(buffer);
}

static void draw_plain(struct screen *s, const char *frame)
{
	size_t size = 0, length = strlen(frame);
	char *buffer = NULL;
	FILE *out = open_memstream(&buffer, &size);

	if (!out)
		return;
	if (s->frames)
		fputc('\n', out);
	screen_print_safe(out, frame);
	if (length && frame[length - 1] != '\n')
		fputc('\n', out);
	if (fclose(out) == 0)
		write_all(buffer, size);
	free(buffer);
}

int screen_draw(struct screen *s, const char *frame)
{
	char *copy = strdup(frame);

	if (!copy)
		return -ENOMEM;
	fflush(stdout);
	if (s->terminal)
		draw_in_place(s, frame);
	else
		draw_plain(s, frame);
	s->frames++;
	free(s->last);
	s->last = copy;
	return 0;
}

static double monotonic_seconds(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* C-z: the terminal as the shell expects it (cursor shown, below the
 * frame), then stopped; on SIGCONT the cursor is hidden again and the
 * frame redrawn over whatever the shell wrote meanwhile. */
static void suspend_view(struct screen *s)
{
	suspended = 0;
	if (s->terminal && s->frames)
		write_all("\r\n" CURSOR_SHOW, 2 + strlen(CURSOR_SHOW));
	raise(SIGSTOP);
	if (s->terminal)
		write_all(CURSOR_HIDE, strlen(CURSOR_HIDE));
}

void screen_wait(struct screen *s, double seconds)
{
	double deadline = monotonic_seconds() + seconds;

	while (!stop_requested) {
		double left = deadline - monotonic_seconds();
		struct timespec wait;

		if (left <= 0)
			return;
		wait.tv_sec = (time_t)left;
		wait.tv_nsec = (long)((left - (double)wait.tv_sec) * 1e9);
		/* the signals get through only here */
		ppoll(NULL, 0, &wait, &mask_before);
		if (suspended) {
			suspend_view(s);
			resized = 1; /* the size may have changed meanwhile */
		}
		if (resized) {
			resized = 0;
			read_size(s);
			/* every row is written again: no clear needed, none
			 * that would push the frame into the scrollback */
			if (s->terminal && s->last)
				draw_in_place(s, s->last);
		}
	}
}
