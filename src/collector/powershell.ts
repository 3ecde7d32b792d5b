/**
 * The PowerShell collector `wmiscope collector powershell` prints: a constant script (nothing in it comes
 * from evidence) that lists every WMI permanent event subscription object in every namespace of a live
 * Windows host, read-only, as one JSON document in the format of `format.ts` (docs/collector.md).
 *
 * It is kept as a TypeScript string so the build ships it without a copy step. Written for Windows
 * PowerShell 5.1 and PowerShell 7 (works from 3.0 on): no classes, no `::new()`, no modules to install, no
 * backticks (so the text can live in a template literal), ASCII only. test/collector.test.ts parses it with
 * the tree-sitter PowerShell grammar and checks that it recurses and has no write verbs.
 *
 * Constrained Language Mode (an AppLocker / WDAC lockdown, a constrained endpoint): the script runs there too.
 * Outside the branches guarded by `if ($FullLanguage)` it uses only what PowerShell allows in that mode: cmdlets,
 * the core types (`CoreTypes` in PowerShell's TypeResolver.cs) and their methods, property reads, `ToString()` on
 * anything. The guarded branches (the elevation check, the DNS suffix from the network configuration, stderr
 * notes, the -OutFile write through .NET) have a core-only fallback, and the document says which mode it ran in
 * (`host.languageMode`). test/collector.test.ts checks every type, static call, method call and New-Object of
 * the script against the core-type list recorded in test/fixtures/collector/clm-core-types.json.
 */
import { COLLECTOR_FORMAT, COLLECTOR_VERSION } from './format.js';

export const POWERSHELL_COLLECTOR: string = String.raw`<#
.SYNOPSIS
    wmiscope collector: lists every WMI permanent event subscription on this computer, in every
    namespace, as one JSON document for "wmiscope scan".

.DESCRIPTION
    A WMI permanent event subscription (MITRE ATT&CK T1546.003) is three objects: an __EventFilter
    (the trigger, a WQL query), an event consumer (the action: an instance of a subclass of
    __EventConsumer, such as CommandLineEventConsumer or ActiveScriptEventConsumer) and a
    __FilterToConsumerBinding that links the two. They can live in ANY namespace, not only in
    ROOT\subscription, and tools that look only at a few namespaces miss the others.

    This script:
      1. walks every namespace, starting at ROOT (ROOT itself included): it lists the __NAMESPACE
         instances of each namespace and puts the children on a queue, so every depth is reached;
      2. in each namespace reads every __EventFilter, every instance of every __EventConsumer
         subclass (custom consumer classes included), every __FilterToConsumerBinding and, unless
         -NoTimers is given, every __TimerInstruction subclass instance (timers can fire filters);
      3. writes ONE JSON document (format "${COLLECTOR_FORMAT}"): host, times, every namespace
         walked with its counts and errors, and every object with all of its properties.

    READ-ONLY. The script only calls Get-CimInstance, Get-CimClass, Get-Command and Test-Path (and
    Set-Content for -OutFile in Constrained Language Mode). It never creates, changes or deletes
    anything in WMI, installs nothing and opens no network connection. The only thing it writes is
    the file named by -OutFile (an existing file is not overwritten unless -Force is given).

    Run it as an administrator: some namespaces deny other users. A namespace that cannot be read is
    recorded with its error, and the walk goes on with the others. The document says whether it ran
    elevated; wmiscope claims nothing from the absence of an object in a run that was not.

    It also runs in Constrained Language Mode (AppLocker / WDAC lockdown): it then records
    "languageMode": "ConstrainedLanguage", cannot tell whether it ran elevated (null), takes the DNS
    domain from Win32_ComputerSystem, and with -OutFile writes the file with Set-Content.

    The JSON is plain ASCII (other characters are written as \uXXXX escapes), so a console code page
    cannot damage it. Prefer -OutFile: in Windows PowerShell, "> file" writes UTF-16 text (which
    wmiscope also reads).

.PARAMETER OutFile
    Write the JSON document to this file (UTF-8 without BOM) instead of to the standard output.

.PARAMETER Force
    Overwrite the -OutFile file when it exists.

.PARAMETER NoTimers
    Do not read __TimerInstruction instances.

.PARAMETER MaxNamespaces
    Stop the walk after this many namespaces (default 10000). The document then says "truncated": true.

.EXAMPLE
    powershell.exe -NoProfile -ExecutionPolicy Bypass -File .\wmiscope-collector.ps1 -OutFile .\wmi.json

.NOTES
    Made by "wmiscope collector powershell", collector version ${COLLECTOR_VERSION}.
    Document format: docs/collector.md and schema/collector.schema.json in the wmiscope package.
#>
#Requires -Version 3.0
[CmdletBinding()]
param(
    [string]$OutFile,
    [switch]$Force,
    [switch]$NoTimers,
    [ValidateRange(1, 1000000)]
    [int]$MaxNamespaces = 10000
)

$ErrorActionPreference = 'Stop'

$Format = '${COLLECTOR_FORMAT}'
$CollectorVersion = '${COLLECTOR_VERSION}'
# Embedded objects (CIM type Instance) are followed this many levels deep, then written as text.
$MaxEmbeddedDepth = 4
$Invariant = [System.Globalization.CultureInfo]::InvariantCulture
# Constrained Language Mode allows only core types: what needs others runs only in FullLanguage.
$LanguageMode = [string]$ExecutionContext.SessionState.LanguageMode
$FullLanguage = ($LanguageMode -eq 'FullLanguage')

# ---- helpers ---------------------------------------------------------------------------------------

function Write-Note {
    # Progress and warnings go to the standard error stream, never into the JSON.
    # Without FullLanguage there is no stderr writer: notes become warnings when the JSON goes to -OutFile,
    # and are left out otherwise (a console host may show warnings on standard output, beside the JSON).
    param([string]$Text)

    if ($FullLanguage) {
        [Console]::Error.WriteLine('wmiscope-collector: ' + $Text)
    } elseif ($OutFile) {
        Write-Warning ('wmiscope-collector: ' + $Text)
    }
}

function New-ErrorEntry {
    # One failed query: what was asked, the message, and the error category and codes.
    param([string]$Query, $ErrorRecord)

    $exception = $ErrorRecord.Exception
    $code = $null
    if ($exception.PSObject.Properties['NativeErrorCode']) {
        $code = [string]$exception.NativeErrorCode
    }
    return [ordered]@{
        query    = $Query
        message  = [string]$exception.Message
        category = [string]$ErrorRecord.CategoryInfo.Category
        errorId  = [string]$ErrorRecord.FullyQualifiedErrorId
        code     = $code
    }
}

function ConvertTo-SidString {
    # CreatorSID is the binary SID as a byte array: revision, number of sub-authorities, a 48-bit
    # big-endian identifier authority, then each sub-authority as a 32-bit little-endian number. Its
    # text form is S-<revision>-<authority>-<sub-authority>-... (S-1-5-32-544), computed here with
    # integer arithmetic (a SecurityIdentifier object is not allowed in Constrained Language Mode).
    param($Bytes)

    try {
        $raw = [byte[]]@($Bytes)
        if ($raw.Length -lt 8 -or $raw.Length -lt 8 + 4 * [int]$raw[1]) {
            return $null
        }
        [int64]$authority = 0
        for ($i = 2; $i -lt 8; $i++) {
            $authority = $authority * 256 + [int64]$raw[$i]
        }
        $text = 'S-' + [string]$raw[0] + '-' + [string]$authority
        for ($k = 0; $k -lt [int]$raw[1]; $k++) {
            $at = 8 + 4 * $k
            [int64]$part = [int64]$raw[$at] + 256 * [int64]$raw[$at + 1] + 65536 * [int64]$raw[$at + 2] + 16777216 * [int64]$raw[$at + 3]
            $text = $text + '-' + [string]$part
        }
        return $text
    } catch {
        return $null
    }
}

function ConvertTo-Duration {
    # An interval (a TimeSpan) as an ISO-8601 duration, as System.Xml.XmlConvert writes it: P1DT2H3M4.5S,
    # zero parts left out, PT0S for none, a leading - when negative. Built from the TimeSpan's own parts
    # (XmlConvert is not allowed in Constrained Language Mode).
    param([timespan]$Span)

    $sign = ''
    if ($Span.Ticks -lt 0) {
        $sign = '-'
    }
    $whole = $Span.Duration()
    $fraction = $whole.Ticks % 10000000
    $text = 'P'
    if ($whole.Days -ne 0) {
        $text = $text + [string]$whole.Days + 'D'
    }
    if ($whole.Hours -ne 0 -or $whole.Minutes -ne 0 -or $whole.Seconds -ne 0 -or $fraction -ne 0) {
        $text = $text + 'T'
        if ($whole.Hours -ne 0) {
            $text = $text + [string]$whole.Hours + 'H'
        }
        if ($whole.Minutes -ne 0) {
            $text = $text + [string]$whole.Minutes + 'M'
        }
        if ($whole.Seconds -ne 0 -or $fraction -ne 0) {
            $text = $text + [string]$whole.Seconds
            if ($fraction -ne 0) {
                $text = $text + '.' + ([string]$fraction).PadLeft(7, '0').TrimEnd('0')
            }
            $text = $text + 'S'
        }
    }
    if ($text -eq 'P') {
        $text = 'PT0S'
    }
    return $sign + $text
}

function ConvertTo-PathLiteral {
    # A key value as an object path writes it: strings in double quotes with \ and " escaped.
    param($Value)

    if ($Value -is [string] -or $Value -is [char]) {
        return '"' + ([string]$Value).Replace('\', '\\').Replace('"', '\"') + '"'
    }
    if ($Value -is [bool]) {
        if ($Value) {
            return 'TRUE'
        }
        return 'FALSE'
    }
    # PowerShell converts numbers and dates to text with the invariant culture
    return [string]$Value
}

function ConvertTo-ReferenceRecord {
    # A reference property (a binding's Filter and Consumer) arrives as a CimInstance holding only the
    # key properties of the object it points to. It is written as its class, the namespace WMI gives
    # for it (if any), its keys, and the object path WMI shows for it: Class.Key="value".
    param($Reference)

    if ($null -eq $Reference) {
        return $null
    }
    if ($Reference -is [string]) {
        return [ordered]@{ class = $null; namespace = $null; keys = $null; path = $Reference }
    }
    $className = [string]$Reference.CimSystemProperties.ClassName
    $namespace = $Reference.CimSystemProperties.Namespace
    if ($namespace) {
        $namespace = [string]$namespace
    } else {
        $namespace = $null
    }
    $present = @($Reference.CimInstanceProperties | Where-Object { $null -ne $_.Value } | Sort-Object -Property Name)
    $flagged = @($present | Where-Object { ($_.Flags -band [Microsoft.Management.Infrastructure.CimFlags]::Key) -ne 0 })
    if ($flagged.Count -gt 0) {
        $present = $flagged
    }
    $keys = [ordered]@{}
    $parts = @()
    foreach ($property in $present) {
        $keys[$property.Name] = ConvertTo-PlainScalar -Value $property.Value -CimType ([string]$property.CimType) -Depth $MaxEmbeddedDepth
        $parts += ,($property.Name + '=' + (ConvertTo-PathLiteral -Value $property.Value))
    }
    if ($parts.Count -gt 0) {
        $path = $className + '.' + ($parts -join ',')
    } else {
        $path = $className + '=@'
    }
    return [ordered]@{ class = $className; namespace = $namespace; keys = $keys; path = $path }
}

function ConvertTo-PlainScalar {
    # One CIM value as a JSON value. 64-bit integers become decimal strings (JSON readers lose digits
    # past 2^53), datetimes ISO-8601 UTC text, intervals ISO-8601 durations.
    param($Value, [string]$CimType, [int]$Depth)

    if ($null -eq $Value) {
        return $null
    }
    switch ($CimType) {
        'Boolean' {
            return [bool]$Value
        }
        'String' {
            return [string]$Value
        }
        'Char16' {
            return [string]$Value
        }
        'UInt64' {
            return ([uint64]$Value).ToString($Invariant)
        }
        'SInt64' {
            return ([int64]$Value).ToString($Invariant)
        }
        'Real32' {
            $number = [double]$Value
            if ([double]::IsNaN($number) -or [double]::IsInfinity($number)) {
                return $number.ToString($Invariant)
            }
            return $number
        }
        'Real64' {
            $number = [double]$Value
            if ([double]::IsNaN($number) -or [double]::IsInfinity($number)) {
                return $number.ToString($Invariant)
            }
            return $number
        }
        'DateTime' {
            if ($Value -is [datetime]) {
                return $Value.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", $Invariant)
            }
            if ($Value -is [timespan]) {
                return ConvertTo-Duration -Span $Value
            }
            return [string]$Value
        }
        'Reference' {
            return ConvertTo-ReferenceRecord -Reference $Value
        }
        'Instance' {
            if ($Depth -ge $MaxEmbeddedDepth -or $Value -isnot [Microsoft.Management.Infrastructure.CimInstance]) {
                return [string]$Value
            }
            return ConvertTo-EmbeddedRecord -Instance $Value -Depth ($Depth + 1)
        }
    }
    # UInt8, SInt8, UInt16, SInt16, UInt32, SInt32
    if ($Value -is [byte] -or $Value -is [sbyte] -or $Value -is [int16] -or $Value -is [uint16] -or $Value -is [int32] -or $Value -is [uint32] -or $Value -is [int64]) {
        return [int64]$Value
    }
    return [string]$Value
}

function ConvertTo-PlainValue {
    # A property value of any CIM type; arrays (types ending in "Array") element by element.
    param($Value, [string]$CimType, [int]$Depth)

    if ($null -eq $Value) {
        return $null
    }
    if ($CimType.EndsWith('Array')) {
        $elementType = $CimType.Substring(0, $CimType.Length - 5)
        # one value per element, collected from the foreach statement's output; the comma makes each a
        # one-element array, unrolled into the collection, so a null element is kept too
        $items = @(foreach ($element in $Value) {
            ,(ConvertTo-PlainScalar -Value $element -CimType $elementType -Depth $Depth)
        })
        # the comma keeps PowerShell from unrolling the array (one element, or none) on return
        return ,$items
    }
    return ConvertTo-PlainScalar -Value $Value -CimType $CimType -Depth $Depth
}

function ConvertTo-PropertySet {
    # Every property of an instance (null ones too): values by name, and CIM type names by name.
    param($Instance, [int]$Depth)

    $properties = [ordered]@{}
    $types = [ordered]@{}
    foreach ($property in $Instance.CimInstanceProperties) {
        $type = [string]$property.CimType
        $types[$property.Name] = $type
        $properties[$property.Name] = ConvertTo-PlainValue -Value $property.Value -CimType $type -Depth $Depth
    }
    return @{ PropertyValues = $properties; PropertyTypes = $types }
}

function ConvertTo-EmbeddedRecord {
    # An embedded object (CIM type Instance): its class and its properties.
    param($Instance, [int]$Depth)

    $set = ConvertTo-PropertySet -Instance $Instance -Depth $Depth
    return [ordered]@{
        class      = [string]$Instance.CimSystemProperties.ClassName
        properties = $set.PropertyValues
        types      = $set.PropertyTypes
    }
}

$DerivationCache = @{}

function Get-ClassDerivation {
    # The superclasses of a class, nearest first (like WMI's __DERIVATION), for example
    # CommandLineEventConsumer: __EventConsumer, __IndicationRelated, __SystemClass.
    # Null when a class definition cannot be read. Cached per namespace and class.
    param([string]$Namespace, [string]$ClassName)

    $cacheKey = $Namespace + ':' + $ClassName
    if ($DerivationCache.ContainsKey($cacheKey)) {
        return ,($DerivationCache[$cacheKey])
    }
    $chain = @()
    $result = $null
    try {
        $name = $ClassName
        while ($name -and $chain.Count -lt 64) {
            $class = Get-CimClass -Namespace $Namespace -ClassName $name -ErrorAction Stop
            $name = $class.CimSuperClassName
            if ($name) {
                $chain += ,([string]$name)
            }
        }
        $result = [string[]]$chain
    } catch {
        $result = $null
    }
    $DerivationCache[$cacheKey] = $result
    return ,$result
}

function ConvertTo-ObjectRecord {
    # One filter, consumer, binding or timer: where it is, its class, and all of its properties.
    param($Instance, [string]$Namespace, [string]$Kind)

    $className = [string]$Instance.CimSystemProperties.ClassName
    $set = ConvertTo-PropertySet -Instance $Instance -Depth 0
    $sid = $null
    if ($set.PropertyValues.Contains('CreatorSID') -and $null -ne $set.PropertyValues['CreatorSID']) {
        $sid = ConvertTo-SidString -Bytes $set.PropertyValues['CreatorSID']
    }
    $derivation = Get-ClassDerivation -Namespace $Namespace -ClassName $className
    return [ordered]@{
        namespace  = $Namespace
        kind       = $Kind
        class      = $className
        derivation = $derivation
        creatorSid = $sid
        properties = $set.PropertyValues
        types      = $set.PropertyTypes
    }
}

# ---- the host --------------------------------------------------------------------------------------

if (-not (Get-Command -Name Get-CimInstance -ErrorAction SilentlyContinue)) {
    throw 'wmiscope-collector needs PowerShell 3.0 or later (Get-CimInstance).'
}

$started = [DateTime]::UtcNow

# Whether this runs with administrator rights: only FullLanguage can ask (WindowsPrincipal is not a core
# type); otherwise it stays unknown (null), and wmiscope treats the run like one that was not elevated.
$elevated = $null
$account = $null
if ($env:USERNAME) {
    $account = [string]$env:USERNAME
    if ($env:USERDOMAIN) {
        $account = [string]$env:USERDOMAIN + '\' + $account
    }
}
if ($FullLanguage) {
    try {
        $identity = [System.Security.Principal.WindowsIdentity]::GetCurrent()
        $account = $identity.Name
        $principal = New-Object System.Security.Principal.WindowsPrincipal -ArgumentList $identity
        $elevated = $principal.IsInRole([System.Security.Principal.WindowsBuiltInRole]::Administrator)
    } catch {
        $elevated = $null
    }
} else {
    Write-Note ('running in ' + $LanguageMode + ' mode: whether this account is an administrator cannot be told')
}
if ($elevated -eq $false) {
    Write-Note 'not running as an administrator: namespaces that deny other users will be recorded as errors'
}

# Host and domain names from the local network configuration (no name lookup, no network traffic): the
# primary DNS suffix in FullLanguage, else the domain Win32_ComputerSystem gives for a domain member.
$fqdn = $null
$domain = $null
if ($FullLanguage) {
    try {
        $ipProperties = [System.Net.NetworkInformation.IPGlobalProperties]::GetIPGlobalProperties()
        if ($ipProperties.DomainName) {
            $domain = [string]$ipProperties.DomainName
            $fqdn = [string]$ipProperties.HostName + '.' + $domain
        } else {
            $fqdn = [string]$ipProperties.HostName
        }
    } catch {
        $fqdn = $null
    }
} else {
    try {
        $computer = Get-CimInstance -ClassName Win32_ComputerSystem -ErrorAction Stop
        if ($computer.DNSHostName) {
            $fqdn = [string]$computer.DNSHostName
            if ($computer.PartOfDomain -and $computer.Domain) {
                $domain = [string]$computer.Domain
                $fqdn = $fqdn + '.' + $domain
            }
        }
    } catch {
        Write-Note ('could not read Win32_ComputerSystem: ' + $_.Exception.Message)
    }
}

$osInfo = [ordered]@{ caption = $null; version = $null; build = $null }
if ($FullLanguage) {
    $osInfo.version = [string][System.Environment]::OSVersion.Version
}
try {
    $os = Get-CimInstance -ClassName Win32_OperatingSystem -ErrorAction Stop
    $osInfo = [ordered]@{ caption = [string]$os.Caption; version = [string]$os.Version; build = [string]$os.BuildNumber }
} catch {
    Write-Note ('could not read Win32_OperatingSystem: ' + $_.Exception.Message)
}

# (a property read: $PSVersionTable is not a plain hashtable, so its methods are not allowed in Constrained
# Language Mode)
$edition = 'Desktop'
if ($PSVersionTable.PSEdition) {
    $edition = [string]$PSVersionTable.PSEdition
}

# ---- the walk --------------------------------------------------------------------------------------

# What is read in every namespace. A WQL "SELECT * FROM <class>" returns the instances of the class
# and of all of its subclasses: every kind of consumer, custom consumer classes included.
# (Lists are plain arrays grown with +=: the generic List and the Queue are not core types in Constrained
# Language Mode. Each += copies the array, which is fine for counts of namespaces and subscription objects.)
$Queries = @(
    @{ Kind = 'filter'; CountName = 'filters'; ClassName = '__EventFilter' },
    @{ Kind = 'consumer'; CountName = 'consumers'; ClassName = '__EventConsumer' },
    @{ Kind = 'binding'; CountName = 'bindings'; ClassName = '__FilterToConsumerBinding' }
)
if (-not $NoTimers) {
    $Queries += ,@{ Kind = 'timer'; CountName = 'timers'; ClassName = '__TimerInstruction' }
}

$namespaces = @()
$objects = @()
$truncated = $false

# Breadth-first walk over a queue of namespaces still to read (an array and the index of the next one),
# starting with ROOT itself. Every namespace found below one that is read is queued in turn, so nested
# namespaces at any depth (ROOT\cimv2\something\deeper) are read too. PowerShell hashtables compare
# string keys without regard to case, as WMI compares namespace names, so each namespace is queued once.
$pending = @()
$next = 0
$queued = @{}
$pending += ,'ROOT'
$queued['ROOT'] = $true

while ($next -lt $pending.Count) {
    if ($namespaces.Count -ge $MaxNamespaces) {
        $truncated = $true
        Write-Note ('stopped after ' + $MaxNamespaces + ' namespaces (-MaxNamespaces)')
        break
    }
    $namespace = [string]$pending[$next]
    $next += 1
    $errors = @()
    $counts = [ordered]@{ filters = 0; consumers = 0; bindings = 0; timers = 0 }
    $children = 0

    # the child namespaces, queued for reading
    try {
        $names = @(Get-CimInstance -Namespace $namespace -ClassName __NAMESPACE -ErrorAction Stop | ForEach-Object { [string]$_.Name } | Sort-Object)
        foreach ($name in $names) {
            $children += 1
            $child = $namespace + '\' + $name
            if (-not $queued.ContainsKey($child)) {
                $queued[$child] = $true
                $pending += ,$child
            }
        }
    } catch {
        $errors += ,(New-ErrorEntry -Query '__NAMESPACE' -ErrorRecord $_)
    }

    # the subscription objects of this namespace
    foreach ($query in $Queries) {
        $instances = @()
        try {
            $instances = @(Get-CimInstance -Namespace $namespace -Query ('SELECT * FROM ' + $query.ClassName) -ErrorAction Stop)
        } catch {
            $errors += ,(New-ErrorEntry -Query $query.ClassName -ErrorRecord $_)
            continue
        }
        foreach ($instance in $instances) {
            try {
                $objects += ,(ConvertTo-ObjectRecord -Instance $instance -Namespace $namespace -Kind $query.Kind)
                $counts[$query.CountName] += 1
            } catch {
                $errors += ,(New-ErrorEntry -Query ($query.ClassName + ' instance') -ErrorRecord $_)
            }
        }
    }

    if ($errors.Count -gt 0) {
        Write-Note ($namespace + ': ' + $errors[0].message)
    }
    $namespaces += ,([ordered]@{
        name     = $namespace
        children = $children
        counts   = $counts
        errors   = $errors
    })
}

# ---- the document ----------------------------------------------------------------------------------

$document = [ordered]@{
    format      = $Format
    collector   = [ordered]@{
        name          = 'wmiscope-collector'
        version       = $CollectorVersion
        api           = 'cim'
        includeTimers = (-not $NoTimers)
        maxNamespaces = $MaxNamespaces
    }
    host        = [ordered]@{
        computerName = [string]$env:COMPUTERNAME
        fqdn         = $fqdn
        domain       = $domain
        os           = $osInfo
        powershell   = [ordered]@{ version = [string]$PSVersionTable.PSVersion; edition = $edition }
        elevated     = $elevated
        user         = $account
        languageMode = $LanguageMode
    }
    collectedAt = $started.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", $Invariant)
    completedAt = [DateTime]::UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", $Invariant)
    truncated   = $truncated
    namespaces  = $namespaces
    objects     = $objects
}

$json = ConvertTo-Json -InputObject $document -Depth 64 -Compress
# ASCII only: every character above 0x7F becomes a \uXXXX escape (the same JSON, safe in any code page).
# Each distinct character is replaced once, keyed by its code (hashtable string keys ignore case).
$escapes = @{}
foreach ($found in [regex]::Matches($json, '[^\u0000-\u007F]')) {
    $code = [int][char]$found.Value
    if (-not $escapes.ContainsKey($code)) {
        $escapes[$code] = [string]$found.Value
    }
}
foreach ($code in @($escapes.Keys)) {
    $json = $json.Replace($escapes[$code], ('\u{0:x4}' -f $code))
}

$failed = @($namespaces | Where-Object { $_.errors.Count -gt 0 }).Count
$summary = [string]$namespaces.Count + ' namespaces read (' + $failed + ' with errors), ' + $objects.Count + ' objects'

if ($OutFile) {
    $target = $OutFile
    if ($FullLanguage) {
        # .NET resolves a relative path against the process's directory, not PowerShell's location
        $target = $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($OutFile)
    }
    if ((Test-Path -LiteralPath $target) -and -not $Force) {
        throw ('wmiscope-collector: ' + $target + ' exists; use -Force to overwrite it')
    }
    if ($FullLanguage) {
        [System.IO.File]::WriteAllText($target, $json, (New-Object System.Text.UTF8Encoding -ArgumentList $false))
    } else {
        # the JSON is ASCII, so ASCII text is the same bytes as UTF-8 without BOM (and a line end)
        Set-Content -LiteralPath $target -Value $json -Encoding Ascii
    }
    Write-Note ($summary + '; written to ' + $target)
} else {
    Write-Output $json
    Write-Note $summary
}
`;
