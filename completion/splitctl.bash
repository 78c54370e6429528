# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# bash completion for splitctl. The words come from splitctl itself
# ('splitctl help --complete WORDS...' walks its command tables), so they
# cannot drift from the commands; this file only adds what the shell
# knows: the running VIPs (of the pin directory splitctl read off the
# line, as "@vip DIR", or $XDPSPLIT_PIN_DIR), interfaces, files. Plain
# bash: the bash-completion package is not needed.

# The words of the line up to the cursor as splitctl sees them. bash
# splits COMP_WORDS at every character of COMP_WORDBREAKS, ':' and '='
# among them, so 10.0.0.1:80/tcp arrives as three words; they are joined
# again where the line has no blank between them. Sets _splitctl_words
# and _splitctl_cword.
_splitctl_reassemble()
{
	local line=${COMP_LINE:0:COMP_POINT} i word rest blank
	_splitctl_words=()
	_splitctl_cword=-1
	for ((i = 0; i < ${#COMP_WORDS[@]} && i <= COMP_CWORD; i++)); do
		word=${COMP_WORDS[i]}
		rest=${line#"${line%%[![:space:]]*}"}
		blank=$((${#line} - ${#rest}))
		line=$rest
		if ((i == COMP_CWORD)); then
			# the word being typed ends at the cursor
			word=${line:0:${#word}}
		fi
		if ((_splitctl_cword >= 0 && blank == 0)); then
			_splitctl_words[_splitctl_cword]+=$word
		else
			_splitctl_words+=("$word")
			_splitctl_cword=$((${#_splitctl_words[@]} - 1))
		fi
		line=${line:${#word}}
	done
	# a blank before the cursor starts a new, empty word
	if [[ -n $line && -z ${line//[[:space:]]/} ]] || ((_splitctl_cword < 0)); then
		_splitctl_words+=("")
		_splitctl_cword=$((${#_splitctl_words[@]} - 1))
	fi
}

# The VIPs of the running data plane, quietly: nothing when none is loaded.
_splitctl_vips()
{
	local program=$1 pin_dir=$2
	"$program" ${pin_dir:+--pin-dir "$pin_dir"} -j vip list 2>/dev/null |
		grep -o '"vip":"[^"]*"' | cut -d'"' -f4
}

_splitctl()
{
	local _splitctl_words _splitctl_cword
	_splitctl_reassemble
	local -a words=("${_splitctl_words[@]}") candidates=()
	local cword=$_splitctl_cword cur=${_splitctl_words[_splitctl_cword]}
	local program=${words[0]} pin_dir line i
	COMPREPLY=()

	while IFS= read -r line; do
		case $line in
		@vip | "@vip "*) pin_dir=${line#@vip}
			while IFS= read -r line; do candidates+=("$line"); done \
			< <(_splitctl_vips "$program" "${pin_dir# }") ;;
		@iface) for line in /sys/class/net/*; do candidates+=("${line##*/}"); done ;;
		@file) compopt -o filenames 2>/dev/null
			while IFS= read -r line; do COMPREPLY+=("$line"); done \
				< <(compgen -f -- "$cur") ;;
		@dir) compopt -o filenames 2>/dev/null
			while IFS= read -r line; do COMPREPLY+=("$line"); done \
				< <(compgen -d -- "$cur") ;;
		*) candidates+=("$line") ;;
		esac
	done < <("$program" help --complete "${words[@]:1:cword}" 2>/dev/null)

	for line in "${candidates[@]}"; do
		[[ $line == "$cur"* ]] && COMPREPLY+=("$line")
	done
	# bash replaces only the part of the word after its last ':' (a word
	# break): the candidates lose what comes before it
	if [[ $cur == *:* && $COMP_WORDBREAKS == *:* ]]; then
		local typed_prefix=${cur%"${cur##*:}"}
		for i in "${!COMPREPLY[@]}"; do
			COMPREPLY[i]=${COMPREPLY[i]#"$typed_prefix"}
		done
	fi
}
complete -F _splitctl splitctl
