# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
# bash completion for splitctl: objects, commands, keywords, interfaces,
# and VIPs read from the running instance.
_splitctl_vips()
{
	splitctl -j vip list 2>/dev/null | grep -o '"vip":"[^"]*"' | cut -d'"' -f4
}

_splitctl()
{
	local cur prev words cword
	_init_completion || return
	local objects="attach detach upgrade status vip backend weights switch override stats explain history apply rollout fleet help"
	local i object="" command="" sub="" position=0

	for ((i = 1; i < cword; i++)); do
		case "${words[i]}" in
		--pin-dir | --state-dir | --run-dir | --etcd | --prefix | --config | -c) ((i++)) ;;
		-*) ;;
		*)
			if [[ -z $object ]]; then object=${words[i]}
			elif [[ -z $command ]]; then command=${words[i]}
			elif [[ -z $sub ]]; then sub=${words[i]}
			fi
			((position++))
			;;
		esac
	done

	case "$prev" in
	--pin-dir | --state-dir | --run-dir) _filedir -d; return ;;
	--config | -c) _filedir 'yaml'; return ;;
	--etcd | --prefix) return ;;
	mode) COMPREPLY=($(compgen -W "l2dsr ipip" -- "$cur")); return ;;
	split) COMPREPLY=($(compgen -W "flow client" -- "$cur")); return ;;
	share) COMPREPLY=($(compgen -W "$(_splitctl_vips)" -- "$cur")); return ;;
	-f | --file) _filedir; return ;;
	state) COMPREPLY=($(compgen -W "up draining down" -- "$cur")); return ;;
	esac

	if [[ -z $object ]]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "--json --pretty --verbose --pin-dir --state-dir --run-dir --help" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$objects" -- "$cur"))
		fi
		return
	fi
	case "$object" in
	attach | detach | upgrade)
		if ((position == 1)); then
			COMPREPLY=($(compgen -W "$(ls /sys/class/net)" -- "$cur"))
		elif [[ $prev == object ]]; then
			_filedir o
		elif [[ $object == upgrade ]]; then
			COMPREPLY=($(compgen -W "object" -- "$cur"))
		elif [[ $object == attach ]]; then
			COMPREPLY=($(compgen -W "native generic flows vips backends maglev seed object" -- "$cur"))
		fi ;;
	vip | backend | override)
		if [[ -z $command ]]; then
			case "$object" in
			vip) COMPREPLY=($(compgen -W "add del list show help" -- "$cur")) ;;
			backend) COMPREPLY=($(compgen -W "add del set list help" -- "$cur")) ;;
			override) COMPREPLY=($(compgen -W "add del list help" -- "$cur")) ;;
			esac
		elif ((position == 2)) && [[ $command != add || $object != vip ]]; then
			COMPREPLY=($(compgen -W "$(_splitctl_vips)" -- "$cur"))
		elif [[ $object == backend && $command == add && position -eq 3 ]] ||
			[[ $object == override && $command == add && position -eq 4 ]]; then
			COMPREPLY=($(compgen -W "blue green canary" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "mode split share weight mac dev state" -- "$cur"))
		fi ;;
	weights | switch | stats | explain)
		if ((position == 1)); then
			COMPREPLY=($(compgen -W "$(_splitctl_vips) help" -- "$cur"))
		elif [[ $object == weights ]]; then
			COMPREPLY=($(compgen -W "blue green canary --force" -- "$cur"))
		elif [[ $object == switch ]]; then
			COMPREPLY=($(compgen -W "blue green --flush --force" -- "$cur"))
		elif [[ $object == stats ]]; then
			COMPREPLY=($(compgen -W "--watch --count" -- "$cur"))
		fi ;;
	history) COMPREPLY=($(compgen -W "--last" -- "$cur")) ;;
	apply) COMPREPLY=($(compgen -W "-f --dry-run" -- "$cur")) ;;
	rollout)
		if [[ -z $command ]]; then
			COMPREPLY=($(compgen -W "start status pause resume promote abort undo help" -- "$cur"))
		elif ((position == 2)); then
			COMPREPLY=($(compgen -W "$(_splitctl_vips)" -- "$cur"))
		elif [[ $command == abort || $command == undo ]]; then
			COMPREPLY=($(compgen -W "--flush" -- "$cur"))
		elif [[ $command == status ]] && ((position == 3)); then
			COMPREPLY=($(compgen -W "--watch" -- "$cur"))
		fi ;;
	fleet)
		# fleet [ --etcd URLS ] [ --prefix P ] [ --config FILE ] COMMAND ...
		if [[ -z $command ]]; then
			if [[ $cur == -* ]]; then
				COMPREPLY=($(compgen -W "--etcd --prefix --config" -- "$cur"))
			else
				COMPREPLY=($(compgen -W "status apply drain undrain weights rollout help" -- "$cur"))
			fi
			return
		fi
		case "$command" in
		apply) COMPREPLY=($(compgen -W "-f --dry-run" -- "$cur")) ;;
		weights)
			if ((position == 2)); then
				COMPREPLY=($(compgen -W "$(_splitctl_vips) help" -- "$cur"))
			else
				COMPREPLY=($(compgen -W "blue green canary" -- "$cur"))
			fi ;;
		rollout)
			if ((position == 2)); then
				COMPREPLY=($(compgen -W "start status pause resume promote abort undo help" -- "$cur"))
			elif ((position == 3)); then
				COMPREPLY=($(compgen -W "$(_splitctl_vips)" -- "$cur"))
			elif [[ $sub == abort || $sub == undo ]]; then
				COMPREPLY=($(compgen -W "--flush" -- "$cur"))
			fi ;;
		esac ;;
	esac
}
complete -F _splitctl splitctl
