"""Install the appliance daemon, its tools and its C extension (built by cffi at install)."""

from setuptools import find_packages, setup

setup(
    name="lab-appliance",
    version="0.1.0",
    description="Customer-service appliance for medical-lab receptions (phone line, GSM/SMS, MQTT sync)",
    python_requires=">=3.11",
    packages=find_packages(include=["appliance", "appliance.*", "sync", "sync.*", "firmware_tools", "firmware_tools.*"]),
    package_data={
        "appliance": ["store/migrations/*.sql", "web/templates/*", "web/static/*", "py.typed"],
        "sync": ["schemas/*.json"],
    },
    setup_requires=["cffi>=1.16"],
    cffi_modules=["native/build_native.py:ffibuilder"],
    install_requires=[
        "cffi>=1.16",
        "pyserial>=3.5",
        "pyusb>=1.2",
        "gpiozero>=2.0",
        "sqlite-utils>=3.36",
        "paho-mqtt>=2.1,<3",
        "aiohttp>=3.9",
        "jinja2>=3.1",
        "prometheus-client>=0.20",
        "phonenumbers>=8.13",
        "jsonschema>=4.20",
        "audioop-lts>=0.2; python_version>='3.13'",
        "systemd-python>=235; sys_platform=='linux'",
    ],
    extras_require={
        "test": [
            "pytest>=8",
            "pytest-timeout>=2.2",
            "pytest-random-order>=1.1",  # tests/web + tests/backbone must pass in any order
            "hypothesis>=6.100",
            "numpy>=1.26",
            "playwright>=1.45",
            "ruff==0.17.6",  # pinned: `make test` lints, and new rules must not break CI by surprise
            "mypy==2.4.1",
            # independent SMS PDU codecs that cross-check appliance.sms.pdu (tests/sms_pdu)
            "smspdudecoder>=2.2",
            "bitstring>=4.1,<5",  # smspdudecoder 2.2 imports BitStream, gone in bitstring 5
            "python-gsmmodem-new>=0.13",
            "psycopg[binary]>=3.1",
        ],
        "postgres": ["psycopg[binary]>=3.1"],
    },
    entry_points={
        "console_scripts": [
            "appliance=appliance.cli.main:main",
            "appliance-tools=firmware_tools.main:main",
            "appliance-central=sync.central.main:main",
        ],
    },
    zip_safe=False,
)
